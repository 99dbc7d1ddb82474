#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one line to stderr (logs and diagnostics never go to stdout, which carries data).
func printError(_ line: String) {
    var text = line
    text.append("\n")
    var utf8 = Array(text.utf8)
    var written = 0
    while written < utf8.count {
        let result = utf8.withUnsafeMutableBytes { write(2, $0.baseAddress! + written, $0.count - written) }
        if result <= 0 { return }
        written += result
    }
    utf8.removeAll()
}

/// Flushes stdout so a line a parent process waits for is not held in the buffer.
func fflushStdout() {
    fflush(nil)
}
