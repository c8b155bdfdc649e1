/*
 * Starts DynamoDB Local listening on the loopback address only.
 *
 * Why this file exists: DynamoDBLocal.jar has no bind-address option (its -help lists -port,
 * -inMemory, -dbPath, -sharedDb, -cors, -delayTransientStatuses, -disableTelemetry,
 * -optimizeDbBeforeStartup; "-host" is refused as unrecognized), and its DynamoDBProxyServer
 * builds Jetty with `new Server(port)`, a connector with no host, which listens on every
 * interface; no system property changes that (-Djetty.host, -Djetty.http.host do nothing). So
 * anyone on the same network could read and write every local table.
 *
 * This launcher lets DynamoDB Local parse its own command line and build its own server
 * (ServerRunner.createServerFromCommandLineArgs, as its main does), then sets the host of the
 * server's Jetty connectors before the server starts, so the socket is bound to 127.0.0.1 from
 * the first moment. `java` runs it in source-file mode (JEP 330) with the jar on the class path;
 * local/engines.ts starts it. Were DynamoDB Local's internals to change so that no connector is
 * found, the launcher exits with an error rather than listen on every interface.
 *
 * The first top-level class is the one `java` runs; source-file mode does not need the file to be
 * named after it.
 */
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

class DynamoDbLoopback {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("parley.dynamodb.host", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Server server = jettyServerOf(proxy);
    int connectors = 0;
    for (Connector connector : server.getConnectors()) {
      if (connector instanceof ServerConnector serverConnector) {
        serverConnector.setHost(host);
        connectors++;
      }
    }
    if (connectors == 0 || connectors != server.getConnectors().length) {
      System.err.println("dynamodb-loopback: DynamoDB Local's Jetty connectors are not ServerConnectors; refusing to listen on every interface");
      System.exit(1);
    }
    proxy.start();
    if (!server.isStarted()) {
      // DynamoDBProxyServer.start() prints a bind failure and stops the server instead of throwing.
      System.exit(1);
    }
    for (Connector connector : server.getConnectors()) {
      ServerConnector serverConnector = (ServerConnector) connector;
      System.out.println("dynamodb-loopback: listening on " + serverConnector.getHost() + ":" + serverConnector.getLocalPort());
    }
    proxy.join();
  }

  /** The Jetty server DynamoDBProxyServer keeps in a private field, found by its type. */
  private static Server jettyServerOf(DynamoDBProxyServer proxy) throws IllegalAccessException {
    for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
      if (field.getType() == Server.class) {
        field.setAccessible(true);
        return (Server) field.get(proxy);
      }
    }
    System.err.println("dynamodb-loopback: DynamoDBProxyServer holds no Jetty Server; refusing to listen on every interface");
    System.exit(1);
    return null;
  }
}
