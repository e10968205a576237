import Hummingbird

/// Escaping for the server-rendered pages: every value from outside goes through it.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A whole page: no scripts, no external resources.
    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.5rem} table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd}
        .ok{color:#14752b}.warn{color:#9a6200}.bad{color:#b00020} form.inline{display:inline;margin:0} .small{padding:.2rem .5rem;font-size:.85rem} code,pre{background:#f4f4f4;padding:.1rem .3rem;border-radius:4px} code{white-space:nowrap}
        pre{padding:.6rem;overflow-x:auto} .button{display:inline-block;background:#2457d6;color:#fff;padding:.55rem 1rem;border:0;border-radius:6px;text-decoration:none;font:inherit;cursor:pointer}
        </style></head><body>
        \(body)
        </body></html>
        """
    }

    /// A short page that says one thing and links back to the console.
    static func messagePage(status: HTTPResponse.Status, title: String, message: String) -> Response {
        let body = page(
            title: "flowgate: \(title)",
            body: "<h1>\(escape(title))</h1><p>\(escape(message))</p><p><a href=\"/\">Back to the console</a></p>")
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
