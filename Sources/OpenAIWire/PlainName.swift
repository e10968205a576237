/// Names that go into logs, labels, URLs and folder names as they are: ASCII letters and digits,
/// plus a few punctuation bytes the caller allows.
package enum PlainName {
    package static func isPlain(_ text: String, length: ClosedRange<Int>, also allowed: String) -> Bool {
        length.contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || allowed.utf8.contains(byte)
            }
    }
}
