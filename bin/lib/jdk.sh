# Sourced by jvmm's scripts: sets JAVA_HOME to a JDK >= 22 (the FFM API is final from 22 on).
# Looks at $JAVA_HOME, then every JDK under /usr/lib/jvm and /opt, then `java` on PATH.
jvmm_jdk_version() { # prints the feature version of the JDK at $1, or nothing
    [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    # The release file every JDK since 9 carries (JAVA_VERSION="25.0.3") spares starting a JVM, which
    # takes seconds where CPU is scarce (the nested rig's L1); a JDK without one is asked directly.
    local v
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null | head -n1)
    if [ -n "$v" ] && [ "$v" != 1 ]; then echo "$v"; return 0; fi
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1
}
jvmm_find_jdk() {
    local candidate best="" best_version=0 v
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/*jdk* /opt/java/* \
                     "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
        [ -n "$candidate" ] && [ -d "$candidate" ] || continue
        v=$(jvmm_jdk_version "$candidate")
        [ -n "$v" ] && [ "$v" -ge 22 ] 2>/dev/null && [ "$v" -gt "$best_version" ] && { best=$candidate; best_version=$v; }
    done
    if [ -z "$best" ]; then
        echo "jvmm needs a JDK 22 or newer: install one (for example Temurin 25 or Debian's openjdk-25-jdk-headless) or set JAVA_HOME to it." >&2
        return 1
    fi
    export JAVA_HOME=$best
}
