/// A JSON object that keeps its fields in the order they came, so what passes
/// through the gateway looks like what was sent. Objects in chat traffic are
/// small: a field list beats hashing for them.
public struct JSONObject: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSON)
    private var fields: [Element]

    public init() {
        fields = []
    }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        fields = []
        fields.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// From a dictionary, in key order (dictionaries have none of their own).
    public init(_ dictionary: [String: JSON]) {
        fields = dictionary.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    /// For the parser: `key` is known not to be present yet.
    init(uniqueFields: [Element]) {
        fields = uniqueFields
    }

    public subscript(key: String) -> JSON? {
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
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let index = fields.firstIndex(where: { $0.key == key }) else { return nil }
        return fields.remove(at: index).value
    }

    public var keys: [String] { fields.map(\.key) }
    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }
}

extension JSONObject: Equatable {
    /// Objects are equal when they have the same fields, in any order (JSON semantics).
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs where rhs[key] != value { return false }
        return true
    }
}
