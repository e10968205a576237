import Testing

@testable import Gateway

/// The hint that sends a stream's route to a child task: `"stream": true` as a key and value.
@Suite struct StreamHintTests {
    func hint(_ body: String) -> Bool {
        Array(body.utf8).withUnsafeBytes(StreamHint.asksForStream)
    }

    @Test func aStreamSetToTrueIsSeen() {
        #expect(hint(#"{"model":"m","stream":true}"#))
        #expect(hint(#"{"stream" :  true, "model":"m"}"#))
        #expect(hint("{\"stream\"\n:\ttrue}"))
        #expect(hint(#"{"messages":[{"role":"user","content":"stream"}],"stream":true}"#), "after a value that reads stream")
    }

    @Test func anythingElseIsNot() {
        #expect(!hint(#"{"model":"m","stream":false}"#))
        #expect(!hint(#"{"model":"m"}"#))
        #expect(!hint(#"{"stream_options":{"include_usage":true}}"#))
        #expect(!hint(#"{"mode":"stream","x":true}"#))
        #expect(!hint(#"{"content":"say \"stream\": true"}"#), "inside a string the quotes are escaped")
        #expect(!hint(#"{"stream":tru"#))
        #expect(!hint(""))
    }
}

@Suite struct RequestBodyBufferHintTests {
    @Test func aCompleteBodyIsAskedTheHint() {
        let body = RequestBodyBuffer(limit: 1 << 20)
        body.append(.init(string: #"{"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}], "stream": true}"#))
        #expect(!body.asksForStream(), "not before the end")
        body.finish()
        #expect(body.asksForStream())
    }
}
