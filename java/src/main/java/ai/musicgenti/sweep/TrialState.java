package ai.musicgenti.sweep;

import java.util.Map;

/**
 * Where a trial stands, as {@code trials/trial-NNN.json} records it. A trial whose process died keeps
 * {@code running}: {@link #alive()} tells a dead one on this host from a live one.
 *
 * @param attempts how many times it was started (a resumed trial counts again)
 * @param error    the one-line reason of a failure, else null
 */
public record TrialState(int index, Map<String, Object> parameters, State state, int attempts, String host, long pid,
                         String device, String error) {
    public enum State { pending, running, finished, stopped, failed }

    static TrialState pending(int index, Map<String, Object> parameters) {
        return new TrialState(index, parameters, State.pending, 0, null, 0, null, null);
    }

    TrialState started(String device) {
        return new TrialState(index, parameters, State.running, attempts + 1, thisHost(), ProcessHandle.current().pid(), device, null);
    }

    TrialState ended(State outcome, String reason) {
        return new TrialState(index, parameters, outcome, attempts, host, pid, device, reason);
    }

    /** False for a running trial whose process on this host is gone (killed); true otherwise, also when it runs elsewhere. */
    public boolean alive() {
        if (state != State.running || !thisHost().equals(host)) return true;
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static String thisHost() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "unknown";
        }
    }
}
