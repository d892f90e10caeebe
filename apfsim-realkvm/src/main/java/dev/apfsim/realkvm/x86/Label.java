package dev.apfsim.realkvm.x86;

/** A position in an {@link Asm} buffer, bound once; jumps to it are fixed up when the code is assembled. */
public final class Label {
    private final String name;
    int position = -1;

    public Label(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public boolean bound() {
        return position >= 0;
    }

    /** Offset from the start of the buffer; only once bound. */
    public int offset() {
        if (position < 0) {
            throw new IllegalStateException("label " + name + " is not bound");
        }
        return position;
    }

    @Override
    public String toString() {
        return name;
    }
}
