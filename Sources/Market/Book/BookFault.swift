/// Why an exchange's book-sync rules stopped trusting a book (until its next snapshot).
public enum BookFault: Sendable, Equatable, CustomStringConvertible {
    /// A message did not follow the previous one: `expected` and `received` are update ids.
    case gap(expected: Int64, received: Int64)
    /// Best bid at or above best ask after an update.
    case crossed
    /// The book refused a level (a negative size, a price off its integer grid).
    case rejected(BookError)

    public var description: String {
        switch self {
        case .gap(let expected, let received): return "sequence gap: expected \(expected), received \(received)"
        case .crossed: return "crossed book"
        case .rejected(let error): return "rejected update: \(error)"
        }
    }
}

extension FeedStats {
    /// Counts a fault: gaps and crossings by kind, a rejected update as an error.
    public mutating func record(_ fault: BookFault) {
        switch fault {
        case .gap: gaps += 1
        case .crossed: crossed += 1
        case .rejected: errors += 1
        }
    }
}
