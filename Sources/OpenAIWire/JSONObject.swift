/// A JSON object that keeps its fields in the order they came, so what passes
/// through the gateway looks like what was sent. Objects in chat traffic are
/// small: a field list beats hashing for them.
package struct JSONObject: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    package typealias Element = (key: String, value: JSON)
    private var fields: [Element]

    package init() {
        fields = []
    }

    package init(dictionaryLiteral elements: (String, JSON)...) {
        fields = []
        fields.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// From a dictionary, in key order (dictionaries have none of their own).
    package init(_ dictionary: [String: JSON]) {
        fields = dictionary.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    /// For the parser: `key` is known not to be present yet.
    init(uniqueFields: [Element]) {
        fields = uniqueFields
    }

    package subscript(key: String) -> JSON? {
        get {
            for field in fields where field.key == key { return field.value }
            return nil
        }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key: key, value: newValue))
            }
        }
    }

    @discardableResult
    package mutating func removeValue(forKey key: String) -> JSON? {
        guard let index = fields.firstIndex(where: { $0.key == key }) else { return nil }
        return fields.remove(at: index).value
    }

    package var keys: [String] { fields.map(\.key) }
    package var count: Int { fields.count }
    package var isEmpty: Bool { fields.isEmpty }

    package func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }
}

extension JSONObject: Equatable {
    /// Objects are equal when they have the same fields, in any order (JSON semantics).
    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs where rhs[key] != value { return false }
        return true
    }
}
