import Testing

@testable import OpenAIWire
@testable import Providers

@Suite struct AccountQueueStateMachineTests {
    @Test func grantsUpToTheLimitThenQueuesInOrderThenRejects() {
        var machine = AccountQueue.StateMachine(limit: 2, maxWaiting: 2)
        #expect(machine.acquire(1) == .granted)
        #expect(machine.acquire(2) == .granted)
        #expect(machine.acquire(3) == .queued)
        #expect(machine.acquire(4) == .queued)
        #expect(machine.acquire(5) == .rejected)
        #expect(machine.release() == 3, "first in, first out")
        #expect(machine.release() == 4)
        #expect(machine.inFlight == 2)
        #expect(machine.release() == nil)
        #expect(machine.release() == nil)
        #expect(machine.inFlight == 0)
    }

    @Test func abandonedWaitersLeaveTheLine() {
        var machine = AccountQueue.StateMachine(limit: 1, maxWaiting: 5)
        #expect(machine.acquire(1) == .granted)
        #expect(machine.acquire(2) == .queued)
        #expect(machine.acquire(3) == .queued)
        let first = machine.abandon(2)
        let again = machine.abandon(2)
        #expect(first)
        #expect(!again, "only once")
        #expect(machine.release() == 3)
    }

    @Test func newcomersDoNotOvertakeTheLine() {
        var machine = AccountQueue.StateMachine(limit: 1, maxWaiting: 5)
        #expect(machine.acquire(1) == .granted)
        #expect(machine.acquire(2) == .queued)
        #expect(machine.release() == 2)
        #expect(machine.acquire(3) == .queued, "the slot went to 2")
    }

    @Test func zeroMeansUnlimited() async throws {
        let queue = AccountQueue(settings: .init(limit: 0, maxWaiting: 0))
        var permits: [AccountQueue.Permit] = []
        for _ in 0..<1000 { permits.append(try await queue.acquire()) }
        #expect(queue.waiting == 0)
        for permit in permits { permit.release() }
    }
}

@Suite struct AccountQueueTests {
    @Test func waiterGetsTheSlotWhenItIsReleased() async throws {
        let queue = AccountQueue(settings: .init(limit: 1))
        let first = try await queue.acquire()
        let second = Task { try await queue.acquire() }
        while queue.waiting == 0 { await Task.yield() }
        first.release()
        let permit = try await second.value
        #expect(queue.inFlight == 1)
        permit.release()
        #expect(queue.inFlight == 0)
    }

    @Test func fullLineIs429WithRetryAfter() async throws {
        let queue = AccountQueue(settings: .init(limit: 1, maxWaiting: 0))
        let held = try await queue.acquire()
        do {
            _ = try await queue.acquire()
            Issue.record("expected 429")
        } catch let error as GatewayError {
            #expect(error.status == 429)
            #expect(error.code == "queue_full")
            #expect(error.retryAfter != nil)
        }
        held.release()
    }

    @Test func waitTimeoutIs429() async throws {
        let queue = AccountQueue(settings: .init(limit: 1, maxWaiting: 5, waitTimeout: .milliseconds(50)))
        let held = try await queue.acquire()
        await #expect(throws: GatewayError.self) { _ = try await queue.acquire() }
        #expect(queue.waiting == 0)
        held.release()
        #expect(queue.inFlight == 0)
    }

    @Test func cancelledWaiterLeavesAtOnce() async throws {
        let queue = AccountQueue(settings: .init(limit: 1))
        let held = try await queue.acquire()
        let waiter = Task { try await queue.acquire() }
        while queue.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(queue.waiting == 0)
        held.release()
        #expect(queue.inFlight == 0, "the slot did not go to the cancelled waiter")
    }

    @Test func droppedPermitReleasesItsSlot() async throws {
        let queue = AccountQueue(settings: .init(limit: 1))
        do { _ = try await queue.acquire() }
        #expect(queue.inFlight == 0)
    }
}
