package ai.musicgenti.core;

/**
 * A problem with what the user gave us (a file, a flag, a folder), never a bug. The message is one line that
 * names the offending thing and says how to fix it; launchers print it without a stack trace.
 */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
