/// A bar chart drawn on the server as inline SVG (the console loads nothing from elsewhere and
/// runs no script): one bar per value, the largest reaching the top, each with a tooltip.
enum SVGChart {
    static func bars(
        title: String, labels: [String], values: [Int], color: String = "#2457d6", width: Int = 720, height: Int = 120
    ) -> String {
        let top = max(values.max() ?? 0, 1)
        let slot = Double(width) / Double(max(values.count, 1))
        var bars = ""
        for (index, value) in values.enumerated() {
            let barHeight = Double(height - 16) * Double(value) / Double(top)
            let x = Double(index) * slot + 1
            bars += """
                <rect x="\(format(x))" y="\(format(Double(height - 14) - barHeight))" width="\(format(max(slot - 2, 1)))" \
                height="\(format(barHeight))" fill="\(color)"><title>\(HTML.escape(labels[index])): \(value)</title></rect>
                """
        }
        let first = labels.first.map(HTML.escape) ?? ""
        let last = labels.last.map(HTML.escape) ?? ""
        return """
            <figure class="chart"><figcaption>\(HTML.escape(title)) <small>(max \(top))</small></figcaption>
            <svg role="img" aria-label="\(HTML.escape(title))" width="100%" viewBox="0 0 \(width) \(height)" \
            preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">\(bars)
            <line x1="0" y1="\(height - 14)" x2="\(width)" y2="\(height - 14)" stroke="#999"/>
            <text x="0" y="\(height - 2)" font-size="10">\(first)</text>
            <text x="\(width)" y="\(height - 2)" font-size="10" text-anchor="end">\(last)</text></svg></figure>
            """
    }

    private static func format(_ value: Double) -> String {
        String((value * 10).rounded() / 10)
    }
}
