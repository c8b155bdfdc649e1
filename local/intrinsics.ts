/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split`, `Fn::If`) to local values, so a function's environment in the template becomes the
 * environment it gets on the laptop.
 */

/** What a logical id or pseudo parameter stands for locally. */
export interface LocalResolver {
  /** `Ref` of a logical id or pseudo parameter (`AWS::Region`, ...), or undefined if unknown. */
  ref(id: string): string | undefined;
  /** `Fn::GetAtt` of a logical id, or undefined if unknown. */
  getAtt(id: string, attribute: string): string | undefined;
}

/** Thrown when a value refers to something the local stack cannot resolve. */
export class UnresolvedIntrinsicError extends Error {
  constructor(public readonly what: string) {
    super(`cannot resolve ${what} locally`);
    this.name = 'UnresolvedIntrinsicError';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Resolves `value` to a string (environment variables are strings). */
export const resolveToString = (value: unknown, resolver: LocalResolver): string => {
  const resolved = resolveValue(value, resolver);
  if (Array.isArray(resolved)) return resolved.join(',');
  return String(resolved);
};

const resolveValue = (value: unknown, resolver: LocalResolver): unknown => {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, resolver));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const key = keys[0] as string;
  const arg = value[key];
  switch (key) {
    case 'Ref': {
      const id = String(arg);
      const resolved = resolver.ref(id);
      if (resolved === undefined) throw new UnresolvedIntrinsicError(`Ref ${id}`);
      return resolved;
    }
    case 'Fn::GetAtt': {
      const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      const resolved = resolver.getAtt(String(id), String(attribute));
      if (resolved === undefined) throw new UnresolvedIntrinsicError(`Fn::GetAtt ${id}.${attribute}`);
      return resolved;
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown];
      const list = resolveValue(parts, resolver);
      return (Array.isArray(list) ? list : [list]).map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const items = resolveValue(list, resolver);
      return Array.isArray(items) ? items[Number(resolveValue(index, resolver))] : items;
    }
    case 'Fn::Split': {
      const [separator, source] = arg as [string, unknown];
      return String(resolveValue(source, resolver)).split(separator);
    }
    case 'Fn::If': {
      // Conditions are not evaluated locally: the local stack takes the "true" branch.
      const [, whenTrue] = arg as [string, unknown, unknown];
      return resolveValue(whenTrue, resolver);
    }
    case 'Fn::Sub': {
      const [text, variables] = Array.isArray(arg)
        ? (arg as [string, Record<string, unknown>])
        : [String(arg), {}];
      return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
        if (variables && name in variables) return resolveToString(variables[name], resolver);
        const [id, attribute] = name.split('.');
        const resolved = attribute ? resolver.getAtt(String(id), attribute) : resolver.ref(String(id));
        if (resolved === undefined) throw new UnresolvedIntrinsicError(`\${${name}}`);
        return resolved;
      });
    }
    default:
      return value;
  }
};
