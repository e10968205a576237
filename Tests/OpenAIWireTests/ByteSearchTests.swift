import Testing

@testable import OpenAIWire

@Suite struct ByteSearchTests {
    @Test func findsAPieceAnywhereByteForByte() {
        #expect("kimi-k2-thinking".containsBytes("thinking"), "at the end")
        #expect("thinking".containsBytes("thinking"), "the whole text")
        #expect("a thinking model".containsBytes("thinking"), "in the middle")
        #expect("échec ✓ sk-secret✓".containsBytes("sk-secret"), "between multi-byte characters")
        #expect("any".containsBytes(""), "the empty piece is everywhere")
    }

    @Test func missesWhatIsNotThere() {
        #expect(!"think".containsBytes("thinking"), "longer than the text")
        #expect(!"glm-4.7".containsBytes("reasoning"))
        #expect(!"thinkinG".containsBytes("thinking"), "bytes, so case counts")
        #expect(!"".containsBytes("a"))
        #expect(!"e\u{301}".containsBytes("é"), "no Unicode equivalence: an echoed key is the same bytes")
    }
}
