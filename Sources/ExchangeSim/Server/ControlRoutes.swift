import Foundation
import Hummingbird
import Market
import Runtime

/// The control API on `--control-port`: inject faults, pause the flow, read the truth.
struct ControlRoutes {
    let exchange: SimExchange

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let exchange = self.exchange
        router.post("/sim/faults") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 10)
            let fault: SimFault
            do {
                fault = try JSONDecoder().decode(SimFault.self, from: Data(buffer: body))
            } catch {
                let kinds = SimFault.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                return RestAnswer.plain(.badRequest, "bad fault: expected {\"kind\": one of \(kinds), \"seconds\", \"symbol\", \"code\", \"ms\"}")
            }
            do throws(SimError) {
                try await exchange.apply(fault, now: WallClock.nanoseconds())
            } catch {
                return RestAnswer.plain(.badRequest, "bad fault: \(error.message)")
            }
            return RestAnswer.json(Array(#"{"applied":"\#(fault.kind.rawValue)"}"#.utf8))
        }
        router.post("/sim/flow") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 4 << 10)
            struct Flow: Decodable { var paused: Bool }
            guard let flow = try? JSONDecoder().decode(Flow.self, from: Data(buffer: body)) else {
                return RestAnswer.plain(.badRequest, "bad flow: expected {\"paused\": true|false}")
            }
            await exchange.setFlowPaused(flow.paused)
            return RestAnswer.json(Array(#"{"paused":\#(flow.paused)}"#.utf8))
        }
        router.get("/sim/book") { request, context in
            let query = Query(request)
            guard let symbol = query.string("symbol") else { return RestAnswer.plain(.badRequest, "symbol is required") }
            // No depth: 50; a depth that is not a number, or out of range, is refused. (The `try?` covers the
            // default too, so a missing depth is not flattened into a bad one.)
            guard let depth = try? query.int("depth") ?? 50, (1...10_000).contains(depth) else {
                return RestAnswer.plain(.badRequest, "depth must be 1–10000")
            }
            guard let bytes = await exchange.truthBook(symbol: symbol, depth: depth, now: WallClock.nanoseconds()) else {
                return RestAnswer.plain(.notFound, "unknown symbol \(symbol)")
            }
            return RestAnswer.json(bytes)
        }
        for path in ["/sim/orders", "/sim/positions"] {
            router.get(RouterPath(path)) { request, _ in
                guard let apiKey = Query(request).string("api_key") else { return RestAnswer.plain(.badRequest, "api_key is required") }
                let bytes = path == "/sim/orders" ? await exchange.truthOrders(apiKey: apiKey) : await exchange.truthPositions(apiKey: apiKey)
                guard let bytes else { return RestAnswer.plain(.notFound, "unknown account") }
                return RestAnswer.json(bytes)
            }
        }
        router.get("/sim/stats") { _, _ in
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = .sortedKeys
            return RestAnswer.json(Array(try encoder.encode(await exchange.truthStats())))
        }
        return router
    }
}
