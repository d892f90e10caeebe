package dev.apfsim.trace;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A block that binary records ({@link CanonicalEncoding}) are written into and handed on in bulk when full
 * ({@link #drain}): the primitive writes of the encoding, little-endian, with no allocation.
 */
public abstract class RecordOut {
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle CHAR = MethodHandles.byteArrayViewVarHandle(char[].class, ByteOrder.LITTLE_ENDIAN);

    protected final byte[] block;
    protected int used;

    protected RecordOut(int size) {
        block = new byte[Math.max(size, 2 * CanonicalEncoding.MAX_FIXED)];
    }

    /** Hands on {@code block[0, used)}; {@code used} is then 0. */
    protected abstract void drain();

    /** Starts a record: room for its fixed part, then its tag, time and vCPU. */
    final RecordOut head(int tag, long time, int vcpu) {
        if (used + CanonicalEncoding.MAX_FIXED > block.length) {
            drain();
        }
        block[used] = (byte) tag;
        LONG.set(block, used + 1, time);
        INT.set(block, used + 9, vcpu);
        used += 13;
        return this;
    }

    final RecordOut i64(long v) {
        LONG.set(block, used, v);
        used += 8;
        return this;
    }

    final RecordOut i32(int v) {
        INT.set(block, used, v);
        used += 4;
        return this;
    }

    final RecordOut bool(boolean v) {
        block[used++] = (byte) (v ? 1 : 0);
        return this;
    }

    /** Length in chars (-1 for null), then the chars; leaves room for the record's fixed fields after it. */
    final RecordOut str(String s) {
        int n = s == null ? -1 : s.length();
        i32(n);
        for (int i = 0; i < n; i++) {
            if (used + 2 + CanonicalEncoding.MAX_FIXED > block.length) {
                drain();
            }
            CHAR.set(block, used, s.charAt(i));
            used += 2;
        }
        if (used + CanonicalEncoding.MAX_FIXED > block.length) {
            drain();
        }
        return this;
    }
}
