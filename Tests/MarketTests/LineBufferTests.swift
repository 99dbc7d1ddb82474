import Market
import Testing
import TestSupport

/// Lines read in chunks come out as the same lines, wherever the chunks are cut.
struct LineBufferTests {
    @Test func anyChunkingGivesTheSameLines() {
        let text = Array("first\n\nsecond line\nthird {\"a\":1}\n\nlast without newline".utf8)
        let expected = ["first", "second line", "third {\"a\":1}", "last without newline"]
        var random = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            var lines: [String] = []
            let collect = { (bytes: UnsafeRawBufferPointer) in lines.append(String(decoding: bytes, as: UTF8.self)) }
            var buffer = LineBuffer()
            var start = 0
            while start < text.count {
                let end = min(text.count, start + Int.random(in: 1...9, using: &random))
                text[start..<end].withUnsafeBytes { buffer.append($0, collect) }
                start = end
            }
            buffer.finish(collect)
            #expect(lines == expected)
        }
    }
}
