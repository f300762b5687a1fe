package org.jvmm.core.sys.darwin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.jvmm.core.sys.SysException;

/**
 * Checks {@link DarwinLibc}'s layouts, control-message arithmetic and constants, and {@link DarwinErrno}'s
 * names, against the numbers in the macOS SDK / xnu headers (restated here, header named on each), without
 * calling libSystem: this runs on Linux, where the binding must refuse every call.
 */
@Timeout(30)
class DarwinLibcLayoutTest {

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    // ---------------------------------------------------------------- struct msghdr, struct iovec

    @Test
    void msghdrHasTheLp64DarwinLayout() {
        // bsd/sys/socket.h, struct msghdr on LP64: msg_name @0 (pointer), msg_namelen @8 (socklen_t, u32),
        // msg_iov @16, msg_iovlen @24 (int), msg_control @32, msg_controllen @40 (socklen_t), msg_flags @44
        // (int); sizeof 48.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = a.allocate(16, 8);
            MemorySegment control = a.allocate(20, 8);
            MemorySegment msg = DarwinLibc.msghdr(a, iov, 1, control, 20);
            assertEquals(48, msg.byteSize());
            assertEquals(0L, msg.get(ValueLayout.JAVA_LONG, 0), "msg_name");
            assertEquals(0, msg.get(INT, 8), "msg_namelen");
            assertEquals(iov.address(), msg.get(ValueLayout.JAVA_LONG, 16), "msg_iov");
            assertEquals(1, msg.get(INT, 24), "msg_iovlen");
            assertEquals(0, msg.get(INT, 28), "padding after msg_iovlen");
            assertEquals(control.address(), msg.get(ValueLayout.JAVA_LONG, 32), "msg_control");
            assertEquals(20, msg.get(INT, 40), "msg_controllen");
            assertEquals(0, msg.get(INT, 44), "msg_flags");

            // what recvmsg writes back: msg_controllen (unsigned) at 40, msg_flags at 44
            msg.set(INT, 40, 0x8000_0004);
            msg.set(INT, 44, 0x20);
            assertEquals(0x8000_0004L, DarwinLibc.msgControlLength(msg));
            assertEquals(0x20, DarwinLibc.msgFlags(msg));
        }
    }

    @Test
    void iovecIsBaseThenLength() {
        // bsd/sys/_types/_iovec_t.h: void *iov_base @0, size_t iov_len @8; 16 bytes.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(100);
            MemorySegment iov = DarwinLibc.iovec(a, buf, 77);
            assertEquals(16, iov.byteSize());
            assertEquals(buf.address(), iov.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(77L, iov.get(ValueLayout.JAVA_LONG, 8));
        }
    }

    // ---------------------------------------------------------------- struct cmsghdr and the CMSG_ macros

    @Test
    void cmsgMacrosAlignToFourBytes() {
        // bsd/sys/socket.h: CMSG_LEN(l) = __DARWIN_ALIGN32(sizeof(struct cmsghdr)) + l and
        // CMSG_SPACE(l) = __DARWIN_ALIGN32(sizeof(struct cmsghdr)) + __DARWIN_ALIGN32(l), with
        // sizeof(struct cmsghdr) = 12 and __DARWIN_ALIGN32 rounding up to 4 (bsd/arm/_param.h, bsd/i386/_param.h).
        // 1, 2 and 3 descriptors (4, 8, 12 data bytes):
        assertEquals(16, DarwinLibc.cmsgLen(4));
        assertEquals(16, DarwinLibc.cmsgSpace(4));
        assertEquals(20, DarwinLibc.cmsgLen(8));
        assertEquals(20, DarwinLibc.cmsgSpace(8));
        assertEquals(24, DarwinLibc.cmsgLen(12));
        assertEquals(24, DarwinLibc.cmsgSpace(12));
        // the padding: CMSG_SPACE rounds the data up to 4 bytes, CMSG_LEN does not
        assertEquals(12, DarwinLibc.cmsgSpace(0));
        assertEquals(16, DarwinLibc.cmsgSpace(1));
        assertEquals(13, DarwinLibc.cmsgLen(1));
        assertEquals(20, DarwinLibc.cmsgSpace(5));
        assertEquals(0, DarwinLibc.align32(0));
        assertEquals(4, DarwinLibc.align32(1));
        assertEquals(4, DarwinLibc.align32(4));
        assertEquals(20, DarwinLibc.align32(17));
    }

    @Test
    void rightsControlMessageForOneToThreeDescriptors() {
        // bsd/sys/socket.h: cmsg_len @0 (socklen_t), cmsg_level @4, cmsg_type @8, CMSG_DATA @12;
        // SOL_SOCKET 0xffff, SCM_RIGHTS 1.
        int[][] cases = {{7}, {7, 8}, {7, 8, 9}};
        long[] sizes = {16, 20, 24};
        try (Arena a = Arena.ofConfined()) {
            for (int c = 0; c < cases.length; c++) {
                int[] fds = cases[c];
                MemorySegment control = DarwinLibc.rightsControl(a, fds);
                assertEquals(sizes[c], control.byteSize(), fds.length + " fds: CMSG_SPACE");
                assertEquals((int) sizes[c], control.get(INT, 0), fds.length + " fds: cmsg_len = CMSG_LEN");
                assertEquals(0xffff, control.get(INT, 4), "cmsg_level");
                assertEquals(1, control.get(INT, 8), "cmsg_type");
                for (int i = 0; i < fds.length; i++) assertEquals(fds[i], control.get(INT, 12 + 4L * i));
                assertArrayEquals(fds, DarwinLibc.parseRights(control, control.byteSize()));
            }
        }
    }

    @Test
    void parseRightsWalksEveryMessageAndKeepsOnlyRights() {
        // Three messages, laid out by hand per bsd/sys/socket.h (each at __DARWIN_ALIGN32 of the previous
        // cmsg_len): a SOL_SOCKET type-2 message (SCM_TIMESTAMP) with 5 data bytes (cmsg_len 17, padded to
        // 20), SCM_RIGHTS with 3 descriptors (cmsg_len 24), and a level-0 type-1 message with one int
        // (cmsg_len 16), which is not SOL_SOCKET and so not rights.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment control = a.allocate(64, 8);
            control.fill((byte) 0x5a); // padding must not matter
            control.set(INT, 0, 17);
            control.set(INT, 4, 0xffff);
            control.set(INT, 8, 2);
            control.set(INT, 20, 24);
            control.set(INT, 24, 0xffff);
            control.set(INT, 28, 1);
            control.set(INT, 32, 31);
            control.set(INT, 36, 32);
            control.set(INT, 40, 33);
            control.set(INT, 44, 16);
            control.set(INT, 48, 0);
            control.set(INT, 52, 1);
            control.set(INT, 56, 99);
            assertArrayEquals(new int[] {31, 32, 33}, DarwinLibc.parseRights(control, 60));
            // two rights messages are both collected
            control.set(INT, 48, 0xffff);
            assertArrayEquals(new int[] {31, 32, 33, 99}, DarwinLibc.parseRights(control, 60));
            // msg_controllen bounds the walk: the third message lies beyond 44 bytes
            assertArrayEquals(new int[] {31, 32, 33}, DarwinLibc.parseRights(control, 44));
            // fewer bytes left than a header: no message
            assertArrayEquals(new int[] {31, 32, 33}, DarwinLibc.parseRights(control, 55));
        }
    }

    @Test
    void parseRightsNeverReadsPastTheBufferOrTheDeliveredLength() {
        try (Arena a = Arena.ofConfined()) {
            // a rights message whose cmsg_len claims 1000 bytes in a 24-byte buffer (as a MSG_CTRUNC cut leaves
            // it): only the three whole descriptors that arrived are returned, for the caller to close
            MemorySegment cut = a.allocate(24, 8);
            cut.set(INT, 0, 1000);
            cut.set(INT, 4, 0xffff);
            cut.set(INT, 8, 1);
            cut.set(INT, 12, 40);
            cut.set(INT, 16, 41);
            cut.set(INT, 20, 42);
            assertArrayEquals(new int[] {40, 41, 42}, DarwinLibc.parseRights(cut, 24));
            assertArrayEquals(new int[] {40, 41, 42}, DarwinLibc.parseRights(cut, 1000)); // more than the segment
            assertArrayEquals(new int[] {40}, DarwinLibc.parseRights(cut, 19));          // a partial int is not one
            // cmsg_len 0xffffffff (unsigned) does not wrap into a negative length
            cut.set(INT, 0, -1);
            assertArrayEquals(new int[] {40, 41, 42}, DarwinLibc.parseRights(cut, 24));
            // a cmsg_len shorter than the 12-byte header ends the walk, and 0 does not loop forever
            for (int garbage : new int[] {0, 4, 11}) {
                cut.set(INT, 0, garbage);
                assertArrayEquals(new int[0], DarwinLibc.parseRights(cut, 24), "cmsg_len " + garbage);
            }
            // nothing delivered
            assertArrayEquals(new int[0], DarwinLibc.parseRights(cut, 0));
            assertArrayEquals(new int[0], DarwinLibc.parseRights(MemorySegment.NULL, 0));
            // a byte-array buffer (not 4-byte aligned) is read as well
            byte[] bytes = new byte[16];
            MemorySegment heap = MemorySegment.ofArray(bytes);
            heap.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 16);
            heap.set(ValueLayout.JAVA_INT_UNALIGNED, 4, 0xffff);
            heap.set(ValueLayout.JAVA_INT_UNALIGNED, 8, 1);
            heap.set(ValueLayout.JAVA_INT_UNALIGNED, 12, 5);
            assertArrayEquals(new int[] {5}, DarwinLibc.parseRights(heap, 16));
        }
    }

    // ---------------------------------------------------------------- struct sockaddr_un

    @Test
    void sockaddrUnCarriesLengthFamilyPathAndNul() {
        // bsd/sys/un.h: unsigned char sun_len @0 ("sockaddr len including null"), sa_family_t (u8) sun_family
        // @1 = AF_UNIX 1 (bsd/sys/socket.h), char sun_path[104] @2.
        String path = "/tmp/jvmm.sock"; // 14 bytes
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = DarwinLibc.sockaddrUn(a, path);
            assertEquals(2 + 14 + 1, addr.byteSize());
            assertEquals(17, addr.get(ValueLayout.JAVA_BYTE, 0), "sun_len");
            assertEquals(1, addr.get(ValueLayout.JAVA_BYTE, 1), "sun_family");
            byte[] bytes = addr.asSlice(2, 14).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(path.getBytes(StandardCharsets.US_ASCII), bytes);
            assertEquals(0, addr.get(ValueLayout.JAVA_BYTE, 16), "NUL");

            // the longest path that fits: 103 bytes and the NUL fill sun_path; sun_len 106
            MemorySegment longest = DarwinLibc.sockaddrUn(a, "/" + "x".repeat(102));
            assertEquals(106, longest.byteSize());
            assertEquals(106, longest.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(0, longest.get(ValueLayout.JAVA_BYTE, 105));
        }
    }

    @Test
    void sockaddrUnRefusesAPathOf104BytesOrMoreWithEnametoolong() {
        try (Arena a = Arena.ofConfined()) {
            for (String path : List.of("/" + "x".repeat(103), "/" + "x".repeat(500), "/" + "é".repeat(52))) { // 104, 501, 105 bytes
                SysException e = assertThrows(SysException.class, () -> DarwinLibc.sockaddrUn(a, path));
                assertEquals(63, e.errno());                 // bsd/sys/errno.h: ENAMETOOLONG 63
                assertEquals("ENAMETOOLONG", e.errnoName());
                assertTrue(e.getMessage().contains("(ENAMETOOLONG)"), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> DarwinLibc.sockaddrUn(a, "/tmp/a\0b"));
        }
    }

    // ---------------------------------------------------------------- struct stat, struct pollfd

    @Test
    void statWith64BitInodesHasStSizeAt96() {
        // bsd/sys/stat.h, __DARWIN_STRUCT_STAT64 on LP64: st_size (off_t) at 96, sizeof 144.
        assertEquals(144, DarwinLibc.STAT_SIZE);
        assertEquals(96, DarwinLibc.STAT_ST_SIZE);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment stat = a.allocate(144, 8);
            stat.set(ValueLayout.JAVA_LONG, 96, 0x1_2345_6789L);
            assertEquals(0x1_2345_6789L, DarwinLibc.stSize(stat));
        }
        // bsd/sys/cdefs.h: __DARWIN_INODE64(fstat) is "fstat" where only 64-bit inodes exist (macOS arm64) and
        // "fstat$INODE64" on macOS x86-64.
        assertEquals("fstat", DarwinLibc.fstatSymbol("aarch64"));
        assertEquals("fstat$INODE64", DarwinLibc.fstatSymbol("x86_64"));
        assertThrows(UnsupportedOperationException.class, () -> DarwinLibc.fstatSymbol("ppc"));
    }

    @Test
    void pollfdIsIntThenTwoShorts() {
        // bsd/sys/poll.h: struct pollfd { int fd; short events; short revents; }: 8 bytes.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = DarwinLibc.pollfds(a, new int[] {3, -1}, new int[] {1, 0x14});
            assertEquals(16, set.byteSize());
            assertEquals(3, set.get(INT, 0));
            assertEquals(1, set.get(ValueLayout.JAVA_SHORT, 4));
            assertEquals(0, set.get(ValueLayout.JAVA_SHORT, 6));
            assertEquals(-1, set.get(INT, 8));
            assertEquals(0x14, set.get(ValueLayout.JAVA_SHORT, 12));
            assertEquals(0, set.get(ValueLayout.JAVA_SHORT, 14));
        }
    }

    // ---------------------------------------------------------------- constants

    @Test
    void constantsAreTheHeadersValues() {
        // bsd/sys/fcntl.h
        assertEquals(0, DarwinLibc.O_RDONLY);
        assertEquals(1, DarwinLibc.O_WRONLY);
        assertEquals(2, DarwinLibc.O_RDWR);
        assertEquals(0x4, DarwinLibc.O_NONBLOCK);
        assertEquals(0x200, DarwinLibc.O_CREAT);
        assertEquals(0x800, DarwinLibc.O_EXCL);
        assertEquals(0x1000000, DarwinLibc.O_CLOEXEC);
        assertEquals(1, DarwinLibc.F_GETFD);
        assertEquals(2, DarwinLibc.F_SETFD);
        assertEquals(3, DarwinLibc.F_GETFL);
        assertEquals(4, DarwinLibc.F_SETFL);
        assertEquals(1, DarwinLibc.FD_CLOEXEC);
        assertEquals(51, DarwinLibc.F_FULLFSYNC);
        assertEquals(1, DarwinLibc.LOCK_SH);
        assertEquals(2, DarwinLibc.LOCK_EX);
        assertEquals(4, DarwinLibc.LOCK_NB);
        assertEquals(8, DarwinLibc.LOCK_UN);
        // bsd/sys/mman.h
        assertEquals(0, DarwinLibc.PROT_NONE);
        assertEquals(1, DarwinLibc.PROT_READ);
        assertEquals(2, DarwinLibc.PROT_WRITE);
        assertEquals(4, DarwinLibc.PROT_EXEC);
        assertEquals(1, DarwinLibc.MAP_SHARED);
        assertEquals(2, DarwinLibc.MAP_PRIVATE);
        assertEquals(0x1000, DarwinLibc.MAP_ANON);
        // bsd/sys/socket.h
        assertEquals(1, DarwinLibc.AF_UNIX);
        assertEquals(1, DarwinLibc.SOCK_STREAM);
        assertEquals(2, DarwinLibc.SOCK_DGRAM);
        assertEquals(0xffff, DarwinLibc.SOL_SOCKET);
        assertEquals(1, DarwinLibc.SCM_RIGHTS);
        assertEquals(0x1022, DarwinLibc.SO_NOSIGPIPE);
        assertEquals(0x20, DarwinLibc.MSG_CTRUNC);
        // bsd/sys/poll.h
        assertEquals(1, DarwinLibc.POLLIN);
        assertEquals(4, DarwinLibc.POLLOUT);
        assertEquals(8, DarwinLibc.POLLERR);
        assertEquals(0x10, DarwinLibc.POLLHUP);
        // bsd/sys/un.h: char sun_path[104]
        assertEquals(104, DarwinLibc.SUN_PATH_SIZE);
        // bsd/kern/uipc_syscalls.c sockargs: (len - 12) * 2 + 12 <= MCLBYTES (2048) gives at most 254 fds
        assertEquals(254, DarwinLibc.MAX_RIGHTS_PER_MESSAGE);
    }

    // ---------------------------------------------------------------- errno

    @Test
    void errnoNamesAreDarwins() {
        // bsd/sys/errno.h
        int[] numbers = {1, 2, 4, 5, 9, 12, 13, 16, 17, 22, 28, 32, 35, 40, 45, 54, 57, 60, 61, 63, 78, 102, 106};
        String[] names = {"EPERM", "ENOENT", "EINTR", "EIO", "EBADF", "ENOMEM", "EACCES", "EBUSY", "EEXIST", "EINVAL",
            "ENOSPC", "EPIPE", "EAGAIN", "EMSGSIZE", "ENOTSUP", "ECONNRESET", "ENOTCONN", "ETIMEDOUT", "ECONNREFUSED",
            "ENAMETOOLONG", "ENOSYS", "EOPNOTSUPP", "EQFULL"};
        for (int i = 0; i < numbers.length; i++) assertEquals(names[i], DarwinErrno.name(numbers[i]), "errno " + numbers[i]);
        assertEquals("errno 107", DarwinErrno.name(107)); // past ELAST (106)
        assertEquals("errno 0", DarwinErrno.name(0));
        assertEquals("errno -1", DarwinErrno.name(-1));

        assertEquals(4, DarwinErrno.EINTR);
        assertEquals(35, DarwinErrno.EAGAIN);
        assertEquals(35, DarwinErrno.EWOULDBLOCK); // #define EWOULDBLOCK EAGAIN
        assertEquals(32, DarwinErrno.EPIPE);
        assertEquals(40, DarwinErrno.EMSGSIZE);
        assertEquals(63, DarwinErrno.ENAMETOOLONG);
        assertEquals(22, DarwinErrno.EINVAL);
        assertEquals(9, DarwinErrno.EBADF);
        assertEquals(2, DarwinErrno.ENOENT);
        assertEquals(13, DarwinErrno.EACCES);
        assertEquals(17, DarwinErrno.EEXIST);
        assertEquals(28, DarwinErrno.ENOSPC);
        assertEquals(5, DarwinErrno.EIO);
        assertEquals(12, DarwinErrno.ENOMEM);
        assertEquals(1, DarwinErrno.EPERM);
        assertEquals(45, DarwinErrno.ENOTSUP);
        assertEquals(102, DarwinErrno.EOPNOTSUPP);
        assertEquals(61, DarwinErrno.ECONNREFUSED);
        assertEquals(54, DarwinErrno.ECONNRESET);
        assertEquals(57, DarwinErrno.ENOTCONN);
        assertEquals(60, DarwinErrno.ETIMEDOUT);
        assertEquals(16, DarwinErrno.EBUSY);
    }

    // ---------------------------------------------------------------- off macOS

    @Test
    void everyCallRefusesOffMacOs() {
        assumeFalse(System.getProperty("os.name").startsWith("Mac"), "this checks the refusal on other systems");
        List<Executable> calls = List.of(
                DarwinLibc::getpid,
                () -> DarwinLibc.isatty(0),
                () -> DarwinLibc.strerror(1),
                () -> DarwinLibc.close(-1),
                () -> DarwinLibc.open("/dev/null", DarwinLibc.O_RDONLY, 0),
                () -> DarwinLibc.read(0, new byte[1], 0, 1),
                () -> DarwinLibc.write(1, new byte[1], 0, 1),
                () -> DarwinLibc.fstatSize(0),
                () -> DarwinLibc.fullFsync(0),
                () -> DarwinLibc.fcntl(0, DarwinLibc.F_GETFD, 0),
                () -> DarwinLibc.mmap(4096, DarwinLibc.PROT_READ, DarwinLibc.MAP_PRIVATE | DarwinLibc.MAP_ANON, -1, 0),
                () -> DarwinLibc.shmOpen("/jvmm-test", DarwinLibc.O_RDWR, 0),
                DarwinLibc::pipe,
                () -> DarwinLibc.poll(new int[] {0}, DarwinLibc.POLLIN, 0),
                () -> DarwinLibc.socket(DarwinLibc.AF_UNIX, DarwinLibc.SOCK_STREAM, 0),
                () -> DarwinLibc.connectUnix(0, "/tmp/x"),
                () -> DarwinLibc.accept(0),
                () -> DarwinLibc.sendWithFds(0, new byte[1], new int[0]),
                () -> DarwinLibc.recvWithFds(0, 1, 1));
        for (int round = 0; round < 2; round++) { // twice: a refusal must not leave a holder class broken
            for (Executable call : calls) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, call);
                assertEquals("DarwinLibc is macOS's libc binding; this JVM runs on " + System.getProperty("os.name"),
                        e.getMessage());
            }
        }
    }
}
