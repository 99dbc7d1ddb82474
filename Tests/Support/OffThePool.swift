import Foundation
import Testing

/// Threads of the test process's own, outside Swift's cooperative pool.
///
/// The cooperative pool has one thread per core: two on CI. A test that holds one of them for seconds — a
/// replay of a whole capture, a wait on a child process — stalls every other test's in-process sims, timers,
/// sockets and writers, and they fail their bounds for a reason that is not theirs (a sim that stepped 30 s
/// late). Work on these threads competes with the rest for the cores the way processes do, fairly, and leaves
/// the pool free.
public final class OffThePoolExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = OffThePoolExecutor(threads: 4)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    private init(threads: Int) {
        for _ in 0..<threads { Thread { [unowned self] in work() }.start() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        // Named for top and a debugger (a new thread on Linux otherwise carries its creator's name).
        Thread.current.name = "keel-off-pool"
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// `@Suite(.offThePool)` / `@Test(.offThePool)`: the test body (its synchronous stretches included) runs on
/// ``OffThePoolExecutor``. For tests that compute for seconds; a test that waits on sockets needs none.
public struct OffThePool: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// Each test case's body; a suite itself computes nothing.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> OffThePool? { testCase == nil ? nil : self }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(OffThePoolExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffThePool {
    public static var offThePool: Self { OffThePool() }
}

/// Blocking work — a child process run to its end — on a thread of its own, awaited without holding a thread
/// of the cooperative pool.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
