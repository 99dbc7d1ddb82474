import Logging
import ServiceLifecycle

/// An HTTP server whose graceful stop is bounded: it has `grace` to close by itself (answering what is in
/// flight, closing the dashboard's socket), then it is cancelled, and if it still does not end it is left to
/// the process's exit. A connection that never sent a request (a browser's preconnect, a port probe) sits in
/// the WebSocket-upgrade pipeline where neither the stop nor a cancellation reaches it, and would otherwise
/// hold the whole stop open until its deadline (`monitoring.shutdown_timeout`, then exit 1).
struct BoundedStop<Inner: ServiceLifecycle.Service>: ServiceLifecycle.Service {
    let inner: Inner
    let name: String
    let grace: Duration
    let logger: Logger

    init(_ inner: Inner, name: String, grace: Duration = .seconds(2), logger: Logger) {
        self.inner = inner
        self.name = name
        self.grace = grace
        self.logger = logger
    }

    func run() async throws {
        // Unstructured tasks inherit the graceful-stop signal; the server's task can be left behind.
        let server = Task { try await inner.run() }
        let ended = Task { _ = try? await server.value }
        let stopping = Task { _ = try? await gracefulShutdown() }
        try await withTaskCancellationHandler {
            // Until the stop, the server's own end (an error such as a port in use) ends this service.
            if await ShutdownSequence.first(ended, stopping) { return try await server.value }
            if await ShutdownSequence.race(ended, timeout: grace) { return try await server.value }
            server.cancel()
            if await ShutdownSequence.race(ended, timeout: .milliseconds(500)) { return }
            logger.warning("keel_http_stop_bounded", metadata: [
                "server": "\(name)", "grace_seconds": "\(grace.inSeconds)",
                "detail": "a connection still open after the grace (one that never sent a request) was left to the exit"])
        } onCancel: {
            server.cancel()
            stopping.cancel()
        }
    }
}
