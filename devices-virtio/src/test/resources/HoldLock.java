import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Run by DiskImageLockTest in a separate JVM (another "VM process"): locks the image exclusively the way
 * any fcntl-locking VMM would, says "locked" (or "busy" if it could not), and holds the lock until its
 * standard input closes.
 */
public class HoldLock {
    public static void main(String[] args) throws Exception {
        try (FileChannel c = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock lock = c.tryLock();
            System.out.println(lock == null ? "busy" : "locked");
            System.out.flush();
            while (System.in.read() >= 0) { /* hold until the parent closes our stdin */ }
        }
    }
}
