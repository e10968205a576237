/// The forms the console posts (`application/x-www-form-urlencoded`).
enum FormBody {
    /// A field of a form body (`application/x-www-form-urlencoded`).
    static func field(_ name: String, inForm body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name {
                return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
        }
        return nil
    }
}
