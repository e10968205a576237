import Gateway
import ArgumentParser
print("hi")
