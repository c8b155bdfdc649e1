/**
 * A small typed event emitter, without Node's `events` module so the SDK runs in browsers.
 *
 * @example
 * ```ts
 * const emitter = new TypedEmitter<{ tick: number }>();
 * const off = emitter.on('tick', (n) => console.log(n));
 * emitter.emit('tick', 1);
 * off();
 * ```
 */
export type Listener<T> = (payload: T) => void;

/**
 * The emitting side of a {@link TypedEmitter}, limited to the events `Keys`: for a part of the
 * client that emits some of its events without being the emitter itself.
 */
export type Emit<Events extends object, Keys extends keyof Events = keyof Events> = <K extends Keys>(
  event: K,
  payload: Events[K],
) => void;

/** Emits typed events; `Events` maps each event name to its payload type. */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  public on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs once, at the next emission of `event`. */
  public once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener added with {@link TypedEmitter.on}. */
  public off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /**
   * Calls every listener of `event` with `payload`. A listener that throws does not stop the
   * others, nor the SDK's own processing: the exception is reported on the next tick instead.
   */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
