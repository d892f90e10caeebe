# shellcheck shell=bash
# Finds a JDK new enough for apfsim. Sourced (not executed) by ./apfsim and .ci/run.
#
#   . .ci/find-jdk.sh
#   JAVA_HOME=$(apfsim_find_jdk) || exit 1
#
# apfsim_find_jdk prints the JAVA_HOME of a JDK (bin/java and bin/javac) whose
# major version is >= APFSIM_MIN_JAVA (default 25). Search order:
#   1. $JAVA_HOME
#   2. `java` on PATH
#   3. /usr/lib/jvm/*/, /opt/*jdk*/, ~/.sdkman/candidates/java/*,
#      /Library/Java/JavaVirtualMachines/*/Contents/Home (the newest one wins)
# On failure it prints an explanation to stderr and returns 1.
# Safe to source into shells running with `set -euo pipefail`; it changes no
# shell options and defines only apfsim_find_jdk and _apfsim_* helpers.

# _apfsim_jdk_info JAVA_BINARY -> prints "MAJOR<TAB>VERSION<TAB>JAVA_HOME"
_apfsim_jdk_info() {
  local java=$1 out spec ver home major
  [ -x "$java" ] && [ ! -d "$java" ] || return 1
  # fast path, no JVM started: a JDK's own `release` file names its version
  home=$(cd "$(dirname "$(readlink -f "$java")")/.." 2>/dev/null && pwd -P) || home=''
  if [ -n "$home" ] && [ -f "$home/release" ] && [ -x "$home/bin/javac" ]; then
    ver=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$home/release" | head -n 1)
    major=${ver#1.}
    major=${major%%[.+-]*}
    case $major in
      '' | *[!0-9]*) ;;
      *) printf '%s\t%s\t%s\n' "$major" "$ver" "$home"; return 0 ;;
    esac
  fi
  out=$("$java" -XshowSettings:properties -version 2>&1 </dev/null) || return 1
  spec=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*java\.specification\.version = //p')
  ver=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*java\.version = //p')
  home=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*java\.home = //p')
  spec=${spec%%$'\n'*} ver=${ver%%$'\n'*} home=${home%%$'\n'*}
  major=${spec#1.}          # "1.8" -> "8", "25" -> "25"
  major=${major%%.*}
  case $major in '' | *[!0-9]*) return 1 ;; esac
  # Java 8 reports the JRE inside the JDK as java.home.
  if [ ! -x "$home/bin/javac" ] && [ -x "$home/../bin/javac" ]; then home=$(cd "$home/.." && pwd -P); fi
  [ -n "$home" ] && [ -x "$home/bin/java" ] || return 1
  printf '%s\t%s\t%s\n' "$major" "${ver:-$spec}" "$home"
}

# _apfsim_version_gt A B -> true if version A is newer than version B
_apfsim_version_gt() {
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

apfsim_find_jdk() {
  local min=${APFSIM_MIN_JAVA:-25}
  local info major ver home cand best='' best_ver='' seen=''
  local -a cands=()

  # 1. JAVA_HOME and 2. java on PATH: take the first one that qualifies.
  if [ -n "${JAVA_HOME:-}" ]; then cands+=("${JAVA_HOME%/}/bin/java"); fi
  if cand=$(command -v java 2>/dev/null); then cands+=("$cand"); fi
  for cand in ${cands[@]+"${cands[@]}"}; do
    if info=$(_apfsim_jdk_info "$cand"); then
      IFS=$'\t' read -r major ver home <<<"$info"
      seen+="    $cand: Java $ver"$'\n'
      if [ "$major" -ge "$min" ] && [ -x "$home/bin/javac" ]; then
        printf '%s\n' "$home"
        return 0
      fi
      [ -x "$home/bin/javac" ] || seen+="      (no javac: not a JDK)"$'\n'
    else
      seen+="    $cand: not a working java"$'\n'
    fi
  done

  # 3. Well-known install locations: pick the newest qualifying JDK.
  for cand in /usr/lib/jvm/*/ /opt/*jdk*/ "${HOME:-/nonexistent}"/.sdkman/candidates/java/*/ \
              /Library/Java/JavaVirtualMachines/*/Contents/Home/; do
    cand=${cand%/}
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    info=$(_apfsim_jdk_info "$cand/bin/java") || continue
    IFS=$'\t' read -r major ver home <<<"$info"
    seen+="    $cand: Java $ver"$'\n'
    [ "$major" -ge "$min" ] || continue
    # "newest": compare full versions (25.0.1 > 25 > 24.0.2) with sort -V.
    if [ -z "$best" ] || _apfsim_version_gt "$ver" "$best_ver"; then
      best=$home best_ver=$ver
    fi
  done
  if [ -n "$best" ]; then
    printf '%s\n' "$best"
    return 0
  fi

  {
    echo "error: apfsim needs a JDK $min or newer, and none was found."
    if [ -n "$seen" ]; then
      echo "  Java installations looked at:"
      printf '%s' "$seen"
    fi
    echo "  Searched: \$JAVA_HOME (${JAVA_HOME:-unset}), java on PATH, /usr/lib/jvm/*, /opt/*jdk*,"
    echo "            ~/.sdkman/candidates/java/*, /Library/Java/JavaVirtualMachines/*."
    echo "  Fix: install a JDK $min+ (e.g. Eclipse Temurin $min from https://adoptium.net, or"
    echo "       'sdk install java $min-tem') and/or set JAVA_HOME to its directory."
  } >&2
  return 1
}
