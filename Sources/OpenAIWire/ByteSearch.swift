extension String {
    /// Whether this string holds `piece`, byte for byte in UTF-8. Foundation's `contains` and the
    /// string-processing `firstRange(of:)` each cost tens of thousands of instructions a call
    /// (docs/performance.md, "A new connection's first stream event").
    package func containsBytes(_ piece: String) -> Bool {
        var (text, piece) = (self, piece)
        return text.withUTF8 { text in
            piece.withUTF8 { piece in
                guard let first = piece.first else { return true }
                guard piece.count <= text.count else { return false }
                for start in 0...(text.count - piece.count) where text[start] == first {
                    if UnsafeBufferPointer(rebasing: text[start..<(start + piece.count)]).elementsEqual(piece) {
                        return true
                    }
                }
                return false
            }
        }
    }
}
