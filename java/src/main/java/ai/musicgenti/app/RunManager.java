package ai.musicgenti.app;

import ai.musicgenti.core.BadInputException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Jobs the page starts (prepare, train, generate), one at a time per device: a second job on the same device waits
 * in a queue that every client sees. State changes are published on the event bus as {@code job} events.
 */
final class RunManager implements AutoCloseable {
    enum State { QUEUED, RUNNING, DONE, FAILED, CANCELLED }

    /** The work of a job; it registers {@link Handle#onCancel} to stop early. */
    @FunctionalInterface
    interface Work {
        /** The job's result, shown to clients as JSON. */
        Object run(Handle handle) throws Exception;
    }

    /** What a running job sees: its cancellation, and the bus to publish its progress on. */
    final class Handle {
        private final Job job;

        private Handle(Job job) {
            this.job = job;
        }

        /** Called once when a cancel arrives while the job runs (say: ask the trainer to stop after its step). */
        void onCancel(Runnable action) {
            synchronized (job) {
                job.onCancel = action;
                if (job.cancelRequested) action.run();
            }
        }

        /** Publishes {@code data} as an event of {@code type}, with this job's id and kind added. */
        void publish(String type, Map<String, Object> data) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("job", job.id);
            d.put("kind", job.kind);
            d.put("name", job.name);
            d.putAll(data);
            bus.publish(type, d);
        }
    }

    private static final class Job {
        final String id, kind, name, device;
        final Work work;
        final long created = System.currentTimeMillis();
        volatile State state = State.QUEUED;
        volatile String message = "";
        volatile Object result;
        volatile boolean cancelRequested;
        Runnable onCancel;
        volatile long started, finished;

        Job(String id, String kind, String name, String device, Work work) {
            this.id = id;
            this.kind = kind;
            this.name = name;
            this.device = device;
            this.work = work;
        }
    }

    static final int HISTORY = 100;

    private final EventBus bus;
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final Map<String, ExecutorService> lanes = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    RunManager(EventBus bus) {
        this.bus = bus;
    }

    /** Queues a job on {@code device}; it starts when every earlier job on that device has ended. */
    synchronized Map<String, Object> submit(String kind, String name, String device, Work work) {
        Job job = new Job("j" + ids.incrementAndGet(), kind, name, device, work);
        jobs.put(job.id, job);
        trimHistory();
        lanes.computeIfAbsent(device, d -> Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "musicgen-ti-jobs-" + d);
            t.setDaemon(true);
            return t;
        })).execute(() -> execute(job));
        announce(job);
        return view(job);
    }

    private void execute(Job job) {
        synchronized (this) {
            if (job.state != State.QUEUED) return;
            job.state = State.RUNNING;
            job.started = System.currentTimeMillis();
        }
        announce(job);
        State end;
        try {
            job.result = job.work.run(new Handle(job));
            end = job.cancelRequested ? State.CANCELLED : State.DONE;
        } catch (BadInputException | HttpError e) {
            job.message = e.getMessage();
            end = State.FAILED;
        } catch (Exception e) {
            // a job that stops on cancellation by throwing (generation) has written nothing: that is what was asked
            if (job.cancelRequested) {
                end = State.CANCELLED;
            } else {
                job.message = "internal error: " + e;
                end = State.FAILED;
            }
        } catch (OutOfMemoryError e) {
            job.message = "internal error: " + e;
            end = State.FAILED;
        }
        synchronized (this) {
            job.state = end;
            job.finished = System.currentTimeMillis();
        }
        announceAll();
    }

    /** Cancels a queued job at once, or asks a running one to stop (a training run saves first). */
    Map<String, Object> cancel(String id) {
        Job job;
        Runnable action = null;
        synchronized (this) {
            job = jobs.get(id);
            if (job == null) throw HttpError.notFound("job '" + SafePaths.shown(id) + "': no such job");
            job.cancelRequested = true;
            if (job.state == State.QUEUED) {
                job.state = State.CANCELLED;
                job.finished = System.currentTimeMillis();
            }
        }
        synchronized (job) {
            if (job.state == State.RUNNING) action = job.onCancel;
        }
        if (action != null) action.run();
        announceAll();
        return view(job);
    }

    synchronized Map<String, Object> find(String id) {
        Job job = jobs.get(id);
        if (job == null) throw HttpError.notFound("job '" + SafePaths.shown(id) + "': no such job");
        return view(job);
    }

    /** The newest queued or running job of this kind and name, or null. */
    synchronized String active(String kind, String name) {
        String found = null;
        for (Job j : jobs.values()) {
            if (j.kind.equals(kind) && j.name.equals(name) && (j.state == State.QUEUED || j.state == State.RUNNING)) found = j.id;
        }
        return found;
    }

    /** Every job still held, oldest first, with queue positions. */
    synchronized List<Map<String, Object>> list() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Job j : jobs.values()) out.add(view(j));
        return out;
    }

    private Map<String, Object> view(Job job) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", job.id);
        v.put("kind", job.kind);
        v.put("name", job.name);
        v.put("device", job.device);
        v.put("state", job.state.name().toLowerCase(java.util.Locale.ROOT));
        v.put("position", position(job));
        v.put("message", job.message);
        v.put("created", job.created);
        v.put("started", job.started == 0 ? null : job.started);
        v.put("finished", job.finished == 0 ? null : job.finished);
        v.put("result", job.result);
        return v;
    }

    /** 0 for a running job, 1.. for queued ones in the order they will run, -1 for ended ones. */
    private synchronized int position(Job job) {
        if (job.state == State.RUNNING) return 0;
        if (job.state != State.QUEUED) return -1;
        int p = 1;
        for (Job j : jobs.values()) {
            if (j == job) return p;
            if (j.device.equals(job.device) && j.state == State.QUEUED) p++;
        }
        return p;
    }

    private void announce(Job job) {
        bus.publish("job", view(job));
    }

    /** A job ending moves every queued one up: clients get them all. */
    private void announceAll() {
        for (Map<String, Object> v : list()) bus.publish("job", v);
    }

    private void trimHistory() {
        var it = jobs.values().iterator();
        while (jobs.size() > HISTORY && it.hasNext()) {
            Job j = it.next();
            if (j.state != State.QUEUED && j.state != State.RUNNING) it.remove();
        }
    }

    /** Cancels everything (a running training run saves) and waits up to {@code seconds} for it to end. */
    @Override
    public void close() {
        close(120);
    }

    void close(long seconds) {
        for (Map<String, Object> v : list()) {
            String state = (String) v.get("state");
            if (state.equals("queued") || state.equals("running")) cancel((String) v.get("id"));
        }
        for (ExecutorService lane : lanes.values()) lane.shutdown();
        try {
            for (ExecutorService lane : lanes.values()) lane.awaitTermination(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
