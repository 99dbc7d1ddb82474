import Foundation
import Market

#if canImport(Glibc)
import Glibc
#endif

/// The connector child's stdin, written by whoever sends a command, at once, with one `write(2)` on a
/// non-blocking pipe: no task or stream between an order decision and the bytes reaching the child.
/// Lines sent before the child starts wait in order; a pipe that is full (a child not reading) keeps
/// the rest in order and a background flush writes it as the child drains, so no sender ever blocks.
final class CommandPipe: @unchecked Sendable {
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var pending: [UInt8] = []
    private var closed = false
    private var flushing = false

    /// The write end of the child's stdin (made non-blocking here); what waited is written now.
    func attach(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        lock.lock()
        defer { lock.unlock() }
        self.descriptor = descriptor
        flushLocked()
    }

    /// Appends one line (its newline included). False once the child is gone.
    func send(_ line: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return false }
        if descriptor < 0 || !pending.isEmpty {
            pending += line
            if descriptor >= 0 { flushLocked() }
            return !closed
        }
        let written = line.withUnsafeBytes { writeSome($0) }
        if written < line.count { pending += line[max(written, 0)...] }
        if !pending.isEmpty { startFlushing() }
        return !closed
    }

    /// The child is gone: nothing more is written; the write end is closed.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        pending = []
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Writes what it can of `bytes` now; marks the pipe closed when the child's end is gone. Lock held.
    private func writeSome(_ bytes: UnsafeRawBufferPointer) -> Int {
        // A write to a pipe whose reader is gone raises SIGPIPE in the writing thread: blocked here for the
        // write, and a pending one taken, so the bot sees EPIPE instead of dying.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result > 0 { written += result; continue }
            if result < 0, errno == EINTR { continue }
            if result < 0, errno == EPIPE {
                var none = timespec()
                _ = sigtimedwait(&pipeSignal, nil, &none)
                closed = true
            }
            break   // EAGAIN: the pipe is full; the rest waits
        }
        return written
    }

    /// Writes as much of `pending` as the pipe takes. Lock held.
    private func flushLocked() {
        guard descriptor >= 0, !pending.isEmpty, !closed else { return }
        let written = pending.withUnsafeBytes { writeSome($0) }
        if written > 0 { pending.removeFirst(written) }
        if closed { pending = [] }
        if !pending.isEmpty { startFlushing() }
    }

    /// A full pipe drains as the child reads: retried every millisecond until empty. Lock held.
    private func startFlushing() {
        guard !flushing else { return }
        flushing = true
        Task.detached { [self] in
            repeat {
                try? await Task.sleep(for: .milliseconds(1))
            } while !flushOnce()
        }
    }

    /// One retry of the background flush; true when nothing is left to write.
    private func flushOnce() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        flushLocked()
        let done = pending.isEmpty || closed
        if done { flushing = false }
        return done
    }
}

/// Reads the child's stdout on a thread of its own, blocking in `read(2)`: each line is decoded and queued
/// the moment its bytes arrive, without an I/O thread handing buffers to a task first.
enum OutputReader {
    /// Calls `body` with each line (a line cut across reads kept whole) until end of file; returns then.
    static func run(descriptor: Int32, name: String, _ body: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var lines = LineBuffer()
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    lines.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), body)
                }
                lines.finish(body)
                Glibc.close(descriptor)
                done.resume()
            }
            thread.name = name
            thread.start()
        }
    }
}

/// `pipe2(2)` (the Glibc module does not export it): both ends made close-on-exec atomically, so a child
/// started meanwhile by another thread inherits neither.
@_silgen_name("pipe2")
func pipe2(_ descriptors: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
