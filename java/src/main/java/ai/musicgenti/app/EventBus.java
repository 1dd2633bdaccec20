package ai.musicgenti.app;

import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Typed events from jobs to every connected page. Each client has its own bounded queue, so a slow or stalled
 * browser drops its own oldest events (and is told how many) instead of holding up training or other clients.
 */
final class EventBus {
    static final int QUEUE = 1024;

    /** {@code type} names the SSE event; {@code data} is serialised as JSON. */
    record Event(long id, String type, Object data) {
    }

    private final Set<Subscription> subscriptions = new CopyOnWriteArraySet<>();
    private final AtomicLong ids = new AtomicLong();
    private final int maxClients;

    EventBus(int maxClients) {
        this.maxClients = maxClients;
    }

    void publish(String type, Object data) {
        Event e = new Event(ids.incrementAndGet(), type, data);
        for (Subscription s : subscriptions) s.offer(e);
    }

    /** A new client's queue, or null when {@code maxClients} are connected already. */
    Subscription subscribe() {
        synchronized (subscriptions) {
            if (subscriptions.size() >= maxClients) return null;
            Subscription s = new Subscription();
            subscriptions.add(s);
            return s;
        }
    }

    int clients() {
        return subscriptions.size();
    }

    final class Subscription implements AutoCloseable {
        private final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(QUEUE);
        private final AtomicLong dropped = new AtomicLong();

        private void offer(Event e) {
            while (!queue.offer(e)) {
                if (queue.poll() != null) dropped.incrementAndGet();
            }
        }

        /** The next event, or null after {@code millis} without one (time for a heartbeat). */
        Event next(long millis) throws InterruptedException {
            return queue.poll(millis, TimeUnit.MILLISECONDS);
        }

        /** Events dropped since the last call because this client read too slowly. */
        long takeDropped() {
            return dropped.getAndSet(0);
        }

        @Override
        public void close() {
            subscriptions.remove(this);
        }
    }
}
