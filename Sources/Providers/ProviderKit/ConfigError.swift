/// A configuration mistake, said in one sentence that names where it is.
package struct ConfigError: Error, CustomStringConvertible, Equatable {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
