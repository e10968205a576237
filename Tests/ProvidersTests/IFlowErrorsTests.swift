import Testing

@testable import OpenAIWire
@testable import Providers

@Suite struct IFlowErrorsTests {
    @Test(arguments: [
        ("434", "", 401, "account_disabled"),
        ("500", "Invalid apiKey", 401, "account_disabled"),
        ("500", "account blocked", 401, "account_disabled"),
        ("439", "expired", 401, IFlowErrors.keyExpiredCode),
        ("435", "", 400, "model_not_supported"),
        ("449", "", 429, "account_concurrency"),
        ("429", "", 429, "rate_limit_exceeded"),
        ("8211", "", 429, "rate_limit_exceeded"),
        ("511", "", 413, "context_length_exceeded"),
        ("413", "", 413, "context_length_exceeded"),
        ("514", "", 502, "upstream_error"),
        ("777", "", 502, "upstream_error"),
    ])
    func businessErrorsMapToRealStatuses(code: String, message: String, status: Int, errorCode: String) throws {
        let error = try #require(
            IFlowErrors.businessError(in: ["status": .string(code), "msg": .string(message), "body": nil]))
        #expect(error.status == status)
        #expect(error.code == errorCode)
        if status == 429 { #expect(error.retryAfter != nil) }
    }

    @Test func numericStatusAndErrorCodeFieldsToo() {
        #expect(IFlowErrors.businessError(in: ["status": 449])?.status == 429)
        #expect(IFlowErrors.businessError(in: ["error_code": "435", "message": "no"])?.status == 400)
    }

    @Test func normalAnswersAreNotErrors() {
        #expect(IFlowErrors.businessError(in: ["choices": [], "status": "434"]) == nil)
        #expect(IFlowErrors.businessError(in: ["id": "x", "object": "chat.completion.chunk"]) == nil)
        #expect(IFlowErrors.businessError(in: ["status": "0"]) == nil)
    }

    @Test func httpFailures() {
        #expect(IFlowErrors.httpError(status: 401, body: Array("nope".utf8)).status == 401)
        #expect(IFlowErrors.httpError(status: 500, body: Array("{\"status\":\"449\"}".utf8)).status == 429)
        let failed = IFlowErrors.httpError(status: 500, body: Array("broken".utf8))
        #expect(failed.status == 502)
        #expect(failed.message.contains("500") && failed.message.contains("broken"))
        // An overloaded upstream is worth a retry later: 503 with Retry-After (529 for Anthropic clients).
        for status in [503, 529] {
            let overloaded = IFlowErrors.httpError(status: status, body: Array("overloaded".utf8))
            #expect(overloaded.status == 503 && overloaded.retryAfter == 5 && overloaded.code == "upstream_overloaded")
            #expect(overloaded.message.contains("\(status)"))
        }
    }
}
