# hostile.sh: writes the hostile test file (sourced; POSIX sh): make_hostile PATH.
# Invalid UTF-8, NUL bytes, CRLF and LF line ends, control bytes (C0, DEL, C1 as UTF-8),
# combining marks and wide characters, a 200 000-byte line, and no final newline.
make_hostile() {
    {
        printf 'plain ascii line\n'
        printf 'crlf line\r\n'
        printf 'invalid utf-8: \377\376 \300\200 \355\240\200 \364\220\200\200 end\n'
        printf 'nul bytes: a\000b\000\000c\n'
        printf 'controls: \001\002\010\013\014\177 c1: \302\233 \302\205\n'
        printf 'wide: \344\270\255\346\226\207 \360\237\230\200 combining: e\314\201\n'
        printf 'lone cr\rin the middle\n'
        head -c 200000 /dev/zero | tr '\000' 'x'
        printf '\n\ttabbed\t\tline\n'
        printf 'no final newline'
    } > "$1"
}
