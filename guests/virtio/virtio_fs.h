/*
 * A minimal virtio-fs driver (virtio 1.2 §5.11) for the virtio test guest's peers variant (virtio_test.c
 * built with -DVIRTIO_PEERS): FUSE requests (include/uapi/linux/fuse.h, protocol 7.31) on the request
 * queue of the device in slot FS_SLOT, served by virtiofsd behind jvmm's vhost-user front-end. The host
 * test shares a directory holding HOST_FILE_NAME with HOST_FILE's bytes and checks GUEST_FILE_NAME after.
 *
 * Checks: the device and its configuration (tag FS_TAG, one request queue); FUSE_INIT; FUSE_LOOKUP of a
 * missing name (ENOENT) and of HOST_FILE_NAME (a regular file of its length); FUSE_OPEN, FUSE_READ and
 * FUSE_RELEASE of it; FUSE_CREATE of GUEST_FILE_NAME, FUSE_WRITE of GUEST_FILE and FUSE_RELEASE; a reset.
 * Every reply is checked for its unique id and a length within what the driver gave.
 */
#define FS_ID 26
#define FS_TAG "jvmm-share"
#define HOST_FILE_NAME "from-host.txt"
#define HOST_FILE "written by the host for the guest\n"
#define GUEST_FILE_NAME "from-guest.txt"
#define GUEST_FILE "written by the " ARCH_NAME " guest through virtio-fs\n"

#define FUSE_LOOKUP 1
#define FUSE_OPEN 14
#define FUSE_READ 15
#define FUSE_WRITE 16
#define FUSE_RELEASE 18
#define FUSE_INIT 26
#define FUSE_CREATE 35
#define FUSE_ROOT_ID 1
#define ENOENT 2
#define S_IFMT 0170000
#define S_IFREG 0100000
#define O_WRONLY 01
#define O_CREAT 0100
#define O_EXCL 0200

struct fuse_in_header { u32 len, opcode; u64 unique, nodeid; u32 uid, gid, pid; u16 total_extlen, padding; };
struct fuse_out_header { u32 len; int error; u64 unique; };
struct fuse_init_in { u32 major, minor, max_readahead, flags, flags2, unused[11]; };
struct fuse_attr { u64 ino, size, blocks, atime, mtime, ctime; u32 atimensec, mtimensec, ctimensec, mode, nlink, uid, gid, rdev, blksize, flags; };
struct fuse_entry_out { u64 nodeid, generation, entry_valid, attr_valid; u32 entry_valid_nsec, attr_valid_nsec; struct fuse_attr attr; };
struct fuse_open_in { u32 flags, open_flags; };
struct fuse_open_out { u64 fh; u32 open_flags, padding; };
struct fuse_create_in { u32 flags, mode, umask, open_flags; };
struct fuse_io_in { u64 fh, offset; u32 size, io_flags; u64 lock_owner; u32 flags, padding; }; /* fuse_read_in and fuse_write_in */
struct fuse_write_out { u32 size, padding; };
struct fuse_release_in { u64 fh; u32 flags, release_flags; u64 lock_owner; };

#define FS_SLOT 1
static struct vq hiq, reqq;
static struct fuse_in_header fin;
static struct fuse_out_header fout;
static u64 fuse_unique;
static u8 freply[256];
static u32 freply_len; /* the reply's length after its header */

static int fs_start(void) {
    uptr dev = VIRTIO_SLOT(FS_SLOT);
    return negotiate(dev, FS_ID, 0) && queue_setup(&hiq, dev, 0) && queue_setup(&reqq, dev, 1) && driver_ok(dev);
}

/*
 * One FUSE request on the request queue: the header and up to two device-readable parts, then the reply's
 * header and up to `reply_max` bytes into freply. Returns the reply's error (0 or -errno), or 1 if the
 * device did not answer or the reply does not fit what was asked.
 */
static int fuse_call(u32 opcode, u64 nodeid, const void *a, u32 a_len, const void *b, u32 b_len, u32 reply_max) {
    u16 n = 0;
    fin.len = sizeof fin + a_len + b_len;
    fin.opcode = opcode;
    fin.unique = ++fuse_unique;
    fin.nodeid = nodeid;
    fin.uid = fin.gid = 0;
    fin.pid = 1;
    fin.total_extlen = fin.padding = 0;
    zero(&fout, sizeof fout);
    zero(freply, sizeof freply);
    set(&reqq.desc[n], &fin, sizeof fin, DESC_F_NEXT, n + 1); n++;
    if (a_len) { set(&reqq.desc[n], a, a_len, DESC_F_NEXT, n + 1); n++; }
    if (b_len) { set(&reqq.desc[n], b, b_len, DESC_F_NEXT, n + 1); n++; }
    set(&reqq.desc[n], &fout, sizeof fout, DESC_F_WRITE | (reply_max ? DESC_F_NEXT : 0), n + 1); n++;
    if (reply_max) set(&reqq.desc[n], freply, reply_max, DESC_F_WRITE, 0);
    publish(&reqq, 0);
    long used = next_used(&reqq, 0);
    volatile struct fuse_out_header *o = &fout;
    if (used < (long) sizeof fout || o->unique != fin.unique || o->len < sizeof fout || o->len > sizeof fout + reply_max) return 1;
    freply_len = o->len - sizeof fout;
    return o->error;
}

static int fs_init(void) {
    static struct fuse_init_in in;
    zero(&in, sizeof in);
    in.major = 7;
    in.minor = 31;
    /* The reply for protocol 7.23 and later is the whole fuse_init_out, 64 bytes: major first. */
    return fuse_call(FUSE_INIT, 0, &in, sizeof in, 0, 0, 64) == 0 && freply_len >= 24 && *(volatile u32 *) freply == 7;
}

/* FUSE_LOOKUP of `name` in the root: the error, and the entry in freply. */
static int fs_lookup(const char *name, u32 name_len) {
    return fuse_call(FUSE_LOOKUP, FUSE_ROOT_ID, name, name_len, 0, 0, sizeof(struct fuse_entry_out));
}

static int fs_release(u64 nodeid, u64 fh) {
    static struct fuse_release_in in;
    zero(&in, sizeof in);
    in.fh = fh;
    return fuse_call(FUSE_RELEASE, nodeid, &in, sizeof in, 0, 0, 0) == 0;
}

static void fs(void) {
    uptr dev = VIRTIO_SLOT(FS_SLOT);
    static const char tag[] = FS_TAG;
    int tag_ok = 1;
    int up = fs_start();
    for (u32 i = 0; up && i < 36; i++) tag_ok &= mmio_read8(dev + CONFIG + i) == (i < sizeof tag - 1 ? (u8) tag[i] : 0);
    check(up && tag_ok && rd(dev, CONFIG + 36) == 1,
          "fs: identified, VERSION_1 negotiated, tag " FS_TAG " and one request queue, queues 0 and 1 set up, DRIVER_OK");
    if (!up) return;
    check(fs_init(), "fs: FUSE_INIT: protocol 7");

    static const char missing[] = "no-such-file";
    check(fs_lookup(missing, sizeof missing) == -ENOENT, "fs: FUSE_LOOKUP of a missing name is ENOENT");

    static const char host_name[] = HOST_FILE_NAME;
    volatile struct fuse_entry_out *e = (volatile struct fuse_entry_out *) freply;
    int found = fs_lookup(host_name, sizeof host_name) == 0 && freply_len == sizeof(struct fuse_entry_out);
    u64 node = e->nodeid;
    check(found && node != 0 && (e->attr.mode & S_IFMT) == S_IFREG && e->attr.size == sizeof HOST_FILE - 1,
          "fs: FUSE_LOOKUP of " HOST_FILE_NAME ": a regular file of its length");

    static struct fuse_open_in open_in;
    open_in.flags = 0; /* O_RDONLY */
    volatile struct fuse_open_out *opened = (volatile struct fuse_open_out *) freply;
    int open_ok = fuse_call(FUSE_OPEN, node, &open_in, sizeof open_in, 0, 0, sizeof(struct fuse_open_out)) == 0
            && freply_len == sizeof(struct fuse_open_out);
    u64 fh = opened->fh;
    static struct fuse_io_in io;
    zero(&io, sizeof io);
    io.fh = fh;
    io.size = 128;
    int read_ok = open_ok && fuse_call(FUSE_READ, node, &io, sizeof io, 0, 0, 128) == 0
            && freply_len == sizeof HOST_FILE - 1 && same(freply, HOST_FILE, sizeof HOST_FILE - 1);
    check(read_ok, "fs: FUSE_OPEN and FUSE_READ give the host's bytes");
    check(open_ok && fs_release(node, fh), "fs: FUSE_RELEASE of " HOST_FILE_NAME);

    static const char guest_name[] = GUEST_FILE_NAME;
    static struct fuse_create_in create;
    create.flags = O_WRONLY | O_CREAT | O_EXCL;
    create.mode = S_IFREG | 0644;
    create.umask = 022;
    create.open_flags = 0;
    int created = fuse_call(FUSE_CREATE, FUSE_ROOT_ID, &create, sizeof create, guest_name, sizeof guest_name,
                            sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)) == 0
            && freply_len == sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out);
    u64 new_node = e->nodeid;
    u64 new_fh = ((volatile struct fuse_open_out *) (freply + sizeof(struct fuse_entry_out)))->fh;
    check(created && new_node != 0 && (e->attr.mode & S_IFMT) == S_IFREG && e->attr.size == 0, "fs: FUSE_CREATE of " GUEST_FILE_NAME);

    static const char line_[] = GUEST_FILE;
    zero(&io, sizeof io);
    io.fh = new_fh;
    io.size = sizeof line_ - 1;
    int written = created && fuse_call(FUSE_WRITE, new_node, &io, sizeof io, line_, sizeof line_ - 1, sizeof(struct fuse_write_out)) == 0
            && freply_len == sizeof(struct fuse_write_out) && ((volatile struct fuse_write_out *) freply)->size == sizeof line_ - 1;
    check(written, "fs: FUSE_WRITE of the guest's line");
    check(created && fs_release(new_node, new_fh), "fs: FUSE_RELEASE of " GUEST_FILE_NAME);

    wr(dev, STATUS, 0);
    check(rd(dev, STATUS) == 0, "fs: reset at the end");
}
