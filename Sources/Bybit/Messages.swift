import Market

/// An `orderbook.{depth}.{symbol}` topic. `depth` is `nil` for the unlimited `orderbook.full` topic.
public struct BybitBookTopic: Sendable, Hashable, CustomStringConvertible {
    public var symbol: String
    public var depth: Int?
    /// `orderbook.rpi.*`: levels carry a non-RPI and an RPI size; the book holds their sum.
    public var isRPI: Bool

    public init(symbol: String, depth: Int?, isRPI: Bool = false) {
        self.symbol = symbol
        self.depth = depth
        self.isRPI = isRPI
    }

    public var description: String {
        "orderbook.\(isRPI ? "rpi" : depth.map(String.init) ?? "full").\(symbol)"
    }
}

/// A decoded order-book message: which topic, and the update it carries.
public struct BybitDepthMessage: Sendable, Equatable {
    public var topic: BybitBookTopic
    public var update: DepthUpdate
    /// The matching engine's time (`cts`), UTC ns; 0 when absent.
    public var matchingTime: Int64
}

/// An answer to a request on a Bybit socket: a subscription ack or failure, a pong, an auth answer.
public struct BybitResponse: Sendable, Equatable {
    public var op: String
    /// `success` on public and private streams; on the trade stream `retCode == 0` says it.
    public var success: Bool
    public var message: String
    public var requestId: String?
    public var connectionId: String?
    public var retCode: Int64?

    public init(op: String, success: Bool, message: String, requestId: String?, connectionId: String?, retCode: Int64?) {
        self.op = op
        self.success = success
        self.message = message
        self.requestId = requestId
        self.connectionId = connectionId
        self.retCode = retCode
    }

    /// A heartbeat answer (linear `ret_msg:"pong"`, or spot `op:"pong"`).
    public var isPong: Bool { op == "pong" || (op == "ping" && message == "pong") }
}

/// Everything Keel can receive on Bybit's public WebSocket.
public enum BybitPublicMessage: Sendable, Equatable {
    case depth(BybitDepthMessage)
    case trades([TradeTick])
    case response(BybitResponse)
    /// A request shape (`{"op":"subscribe","args":[…]}`), as it appears in recordings and docs.
    case request(op: String)
    /// A well-formed message of a topic Keel does not model (tickers, klines, liquidations, …).
    case other(topic: String)
}
