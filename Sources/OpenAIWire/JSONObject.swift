/// A JSON object that keeps its fields in the order they came, so what passes
/// through the gateway looks like what was sent. Objects in chat traffic are
/// small: a field list beats hashing for them.
package struct JSONObject: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    package typealias Element = (key: String, value: JSON)

    /// A struct rather than a tuple: an array of tuples is copied and destroyed through the
    /// runtime's generic tuple code, an array of structs through code compiled for the type.
    struct Field: Sendable {
        var key: String
        var value: JSON
    }

    private var fields: [Field]

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
        fields = dictionary.sorted { $0.key < $1.key }.map { Field(key: $0.key, value: $0.value) }
    }

    /// For the parser: no key appears twice.
    init(uniqueFields: [Field]) {
        fields = uniqueFields
    }

    package subscript(key: String) -> JSON? {
        get {
            for field in fields where Self.same(field.key, key) { return field.value }
            return nil
        }
        set {
            if let index = fields.firstIndex(where: { Self.same($0.key, key) }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append(Field(key: key, value: newValue))
            }
        }
    }

    @discardableResult
    package mutating func removeValue(forKey key: String) -> JSON? {
        guard let index = fields.firstIndex(where: { Self.same($0.key, key) }) else { return nil }
        return fields.remove(at: index).value
    }

    /// Key equality, lengths first: most keys compared differ in length, and the length of a
    /// string is stored in it, while `==` on two different strings costs a call into the runtime.
    @inline(__always)
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a == b
    }

    package var keys: [String] { fields.map(\.key) }
    package var count: Int { fields.count }
    package var isEmpty: Bool { fields.isEmpty }

    package struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[Field]>

        package mutating func next() -> Element? {
            guard let field = base.next() else { return nil }
            return (key: field.key, value: field.value)
        }
    }

    package func makeIterator() -> Iterator {
        Iterator(base: fields.makeIterator())
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
