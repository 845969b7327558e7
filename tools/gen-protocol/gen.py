#!/usr/bin/python3
"""gen.py - generate Eddy's Kafka protocol codec from Kafka's JSON schemas.

Usage: /usr/bin/python3 tools/gen-protocol/gen.py [SCHEMA_DIR [OUT_DIR]]
Defaults: /work/shared/kafka-protocol/messages -> src/protocol/generated.

Reads every *.json message schema (JSON plus // comments) and writes, for each
API, <api>.h/.c with the structs and their init/decode/size/encode functions,
plus headers.[ch] (RequestHeader, ResponseHeader), data.[ch] (the "data"
schemas), api_table.[ch] (the API table and dispatchers by api key),
messages.h (documented umbrella of the generated API) and test_fill.[ch]
(test support: fill a message with non-default values).
Standard library only. The output is deterministic: regenerate and commit.
"""
import glob
import json
import os
import re
import sys

INF = 0x7FFF
PRIMS = {
    # type: (C type, fixed size or None, reader, writer)
    'bool': ('bool', 1, 'wire_read_bool', 'wire_write_bool'),
    'int8': ('int8_t', 1, 'wire_read_int8', 'wire_write_int8'),
    'int16': ('int16_t', 2, 'wire_read_int16', 'wire_write_int16'),
    'uint16': ('uint16_t', 2, 'wire_read_uint16', 'wire_write_uint16'),
    'int32': ('int32_t', 4, 'wire_read_int32', 'wire_write_int32'),
    'uint32': ('uint32_t', 4, 'wire_read_uint32', 'wire_write_uint32'),
    'int64': ('int64_t', 8, 'wire_read_int64', 'wire_write_int64'),
    'float64': ('double', 8, 'wire_read_float64', 'wire_write_float64'),
    'uuid': ('struct kuuid', 16, 'wire_read_uuid', 'wire_write_uuid'),
    'string': ('struct kstr', None, None, None),
    'bytes': ('struct kbytes', None, None, None),
    'records': ('struct kbytes', None, None, None),
}
INT_RANGES = {
    'int8': (-2**7, 2**7 - 1), 'int16': (-2**15, 2**15 - 1), 'uint16': (0, 2**16 - 1),
    'int32': (-2**31, 2**31 - 1), 'uint32': (0, 2**32 - 1), 'int64': (-2**63, 2**63 - 1),
}
C_KEYWORDS = set('''auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct
switch typedef union unsigned void volatile while bool true false alignas alignof nullptr
static_assert thread_local typeof'''.split())


def strip_comments(text):
    """Drop // comments that are outside JSON strings."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == '\\':
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
        elif c == '/' and i + 1 < n and text[i + 1] == '/':
            while i < n and text[i] != '\n':
                i += 1
            continue
        out.append(c)
        i += 1
    return ''.join(out)


def parse_versions(s):
    """'3+', '0-2', '5', 'none' -> (lo, hi) or None."""
    if s is None or s == 'none':
        return None
    s = s.strip()
    if s.endswith('+'):
        return (int(s[:-1]), INF)
    if '-' in s:
        lo, hi = s.split('-')
        return (int(lo), int(hi))
    return (int(s), int(s))


def snake(name):
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', s)
    return s.lower()


def c_field_name(name):
    s = snake(name)
    return s + '_' if s in C_KEYWORDS else s


class Struct:
    def __init__(self, name, cname, fields):
        self.name, self.cname, self.fields = name, cname, fields


class Field:
    pass


class Message:
    pass


def struct_cname(msg_name, struct_name):
    if struct_name.startswith(msg_name):
        return snake(struct_name)
    return snake(msg_name) + '_' + snake(struct_name)


def load_message(path):
    d = json.loads(strip_comments(open(path, encoding='utf-8').read()))
    m = Message()
    m.name = d['name']
    m.kind = d['type']
    m.api_key = d.get('apiKey')
    m.valid = parse_versions(d['validVersions'])
    fv = parse_versions(d.get('flexibleVersions', 'none'))
    m.flex_lo = fv[0] if fv else None
    m.listeners = d.get('listeners', [])
    m.unstable = bool(d.get('latestVersionUnstable', False))
    m.deprecated = parse_versions(d.get('deprecatedVersions'))
    m.cname = snake(m.name)
    m.structs = {}  # schema struct name -> Struct
    pending = {}    # referenced but not yet defined
    for cs in d.get('commonStructs', []):
        pending[cs['name']] = cs

    def define(sname, raw_fields):
        if sname in m.structs:
            return m.structs[sname]
        st = Struct(sname, struct_cname(m.name, sname), None)
        m.structs[sname] = st
        st.fields = [parse_field(f) for f in raw_fields]
        return st

    def parse_field(f):
        fl = Field()
        fl.name = f['name']
        fl.cname = c_field_name(f['name'])
        fl.versions = parse_versions(f.get('versions'))
        fl.nullable = parse_versions(f.get('nullableVersions'))
        fl.tagged = parse_versions(f.get('taggedVersions'))
        fl.tag = int(f['tag']) if 'tag' in f else None
        fl.default = f.get('default')
        fl.flex_override = 'flexibleVersions' in f
        fl.flex_field = parse_versions(f.get('flexibleVersions')) if fl.flex_override else None
        t = f['type']
        fl.is_array = t.startswith('[]')
        base = t[2:] if fl.is_array else t
        if base in PRIMS:
            fl.prim, fl.struct = base, None
        else:
            fl.prim = None
            if 'fields' in f:
                fl.struct = define(base, f['fields'])
            elif base in m.structs:
                fl.struct = m.structs[base]
            elif base in pending:
                fl.struct = define(base, pending[base]['fields'])
            else:
                fl.struct = None
                fl.forward = base  # defined inline later in the file
        return fl

    m.top = Struct(m.name, m.cname, None)
    m.top.fields = [parse_field(f) for f in d['fields']]
    # Resolve forward references (a struct used before its inline definition).
    def resolve(st):
        for fl in st.fields:
            if fl.prim is None and fl.struct is None:
                if fl.forward in m.structs:
                    fl.struct = m.structs[fl.forward]
                else:
                    fl.struct = define(fl.forward, pending[fl.forward]['fields'])
    changed = True
    seen = set()
    while changed:
        changed = False
        for st in [m.top] + list(m.structs.values()):
            if id(st) not in seen:
                seen.add(id(st))
                resolve(st)
                changed = True
    # Drop fields that never appear; keep only structs reachable from the top.
    for st in [m.top] + list(m.structs.values()):
        st.fields = [fl for fl in st.fields if fl.versions is not None]
    order = []

    def visit(st, stack):
        if st in order:
            return
        assert st not in stack, 'recursive struct ' + st.name
        for fl in st.fields:
            if fl.struct:
                visit(fl.struct, stack + [st])
        order.append(st)
    visit(m.top, [])
    m.order = order  # dependencies first, top last
    for st in order:
        names = set()
        for fl in st.fields:
            for n in ([fl.cname + '_count', fl.cname] if fl.is_array else [fl.cname]):
                assert n not in names, 'member clash %s.%s' % (st.cname, n)
                names.add(n)
    return m


# ---------------------------------------------------------------- versions

def ver_cond(v, msg):
    """C condition for 'version in v' within the message's valid range."""
    if v is None:
        return '0'
    lo, hi = v
    mlo, mhi = msg.valid
    if lo > mhi or hi < mlo:
        return '0'
    parts = []
    if lo > mlo:
        parts.append('version >= %d' % lo)
    if hi < mhi:
        parts.append('version <= %d' % hi)
    if not parts:
        return '1'
    return ' && '.join(parts)


def in_range(v, version):
    return v is not None and v[0] <= version <= v[1]


def flex_cond(fl, msg):
    if fl is not None and fl.flex_override:
        return ver_cond(fl.flex_field, msg)
    if msg.flex_lo is None:
        return '0'
    return ver_cond((msg.flex_lo, INF), msg)


def guard(cond, lines, indent):
    if cond == '0':
        return []
    if cond == '1':
        return lines
    return [indent + 'if (%s) {' % cond] + ['    ' + l for l in lines] + [indent + '}']


def pick(cond, a, b):
    if cond == '1':
        return a
    if cond == '0':
        return b
    return '(%s) ? %s : %s' % (cond, a, b)


# ---------------------------------------------------------------- defaults

def int_default(fl):
    d = fl.default
    if d is None or d == '' or d == 'null':
        return 0
    if isinstance(d, bool):
        return int(d)
    if isinstance(d, int):
        return d
    d = str(d).strip()
    if d.lower() in ('true', 'false'):
        return 1 if d.lower() == 'true' else 0
    return int(d, 16) if d.lower().startswith(('0x', '-0x')) else int(d)


def c_int_literal(v, prim):
    if prim == 'int64':
        if v == -2**63:
            return 'INT64_MIN'
        return 'INT64_C(%d)' % v
    if prim == 'int32' and v == -2**31:
        return 'INT32_MIN'
    if prim == 'uint32':
        return '%dU' % v
    return str(v)


def default_is_null(fl):
    return isinstance(fl.default, str) and fl.default == 'null'


def default_expr(fl):
    """C expression for a scalar's default (non-array, non-struct)."""
    p = fl.prim
    if p == 'bool':
        return 'true' if int_default(fl) else 'false'
    if p in INT_RANGES:
        return c_int_literal(int_default(fl), p)
    if p == 'float64':
        return repr(float(fl.default)) if fl.default not in (None, '') else '0.0'
    if p == 'uuid':
        return None
    if p == 'string':
        if default_is_null(fl):
            return 'kstr_null()'
        return 'kstr_from_cstr(%s)' % json.dumps(fl.default or '')
    if p in ('bytes', 'records'):
        if default_is_null(fl):
            return 'kbytes_null()'
        return None
    raise AssertionError(p)


def init_lines(fl):
    m = 'm->' + fl.cname
    if fl.is_array:
        return ['%s_count = %d;' % (m, -1 if default_is_null(fl) else 0), '%s = NULL;' % m]
    if fl.struct:
        if fl.nullable is not None:
            return ['%s = NULL;' % m]
        return ['%s_init(&%s);' % (fl.struct.cname, m)]
    e = default_expr(fl)
    if e is None:
        return ['memset(&%s, 0, sizeof %s);' % (m, m)]
    return ['%s = %s;' % (m, e)]


def is_default_cond(fl, m='m->'):
    """C expression true when the field holds its default value."""
    x = m + fl.cname
    if fl.is_array:
        return '%s_count == %d' % (x, -1 if default_is_null(fl) else 0)
    if fl.struct:
        if fl.nullable is not None:
            return '%s == NULL' % x
        return '%s_is_default(&%s)' % (fl.struct.cname, x)
    p = fl.prim
    if p == 'uuid':
        return 'kuuid_is_zero(%s)' % x
    if p == 'string':
        if default_is_null(fl):
            return '%s.len < 0' % x
        return 'kstr_eq_cstr(%s, %s)' % (x, json.dumps(fl.default or ''))
    if p in ('bytes', 'records'):
        if default_is_null(fl):
            return '%s.len < 0' % x
        return '%s.len == 0' % x
    return '%s == %s' % (x, default_expr(fl))


# ---------------------------------------------------------------- codegen

class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.need_is_default = set()
        for st in msg.order:
            for fl in st.fields:
                if fl.tagged is not None and fl.struct and fl.nullable is None and not fl.is_array:
                    self.mark_default(fl.struct)

    def mark_default(self, st):
        if st.cname in self.need_is_default:
            return
        self.need_is_default.add(st.cname)
        for fl in st.fields:
            if fl.struct and not fl.is_array and fl.nullable is None:
                self.mark_default(fl.struct)

    # -- struct definition
    def struct_def(self, st):
        out = ['struct %s {' % st.cname]
        for fl in st.fields:
            vers = fl.versions
            vs = '%d+' % vers[0] if vers[1] == INF else ('%d-%d' % vers if vers[0] != vers[1] else '%d' % vers[0])
            notes = ['v' + vs]
            if fl.nullable is not None:
                notes.append('nullable')
            if fl.tagged is not None:
                notes.append('tag %d' % fl.tag)
            if fl.default is not None and not fl.is_array:
                notes.append('default %s' % (fl.default if fl.default != '' else '""'))
            note = ' /* %s */' % ', '.join(notes)
            if fl.is_array:
                el = 'struct %s' % fl.struct.cname if fl.struct else PRIMS[fl.prim][0]
                out.append('    int32_t %s_count;%s' % (fl.cname, note))
                out.append('    %s *%s;' % (el, fl.cname))
            elif fl.struct:
                star = '*' if fl.nullable is not None else ''
                out.append('    struct %s %s%s;%s' % (fl.struct.cname, star, fl.cname, note))
            else:
                out.append('    %s %s;%s' % (PRIMS[fl.prim][0], fl.cname, note))
        if not st.fields:
            out.append('    char unused_; /* no fields in any version */')
        out.append('};')
        return out

    # -- init
    def init_fn(self, st):
        out = ['void %s_init(struct %s *m)' % (st.cname, st.cname), '{']
        if not st.fields:
            out.append('    m->unused_ = 0;')
        for fl in st.fields:
            out += ['    ' + l for l in init_lines(fl)]
        out += ['}', '']
        return out

    def is_default_fn(self, st):
        conds = [is_default_cond(fl) for fl in st.fields] or ['1']
        out = ['static bool %s_is_default(const struct %s *m)' % (st.cname, st.cname), '{']
        out.append('    (void)m;')
        out.append('    return ' + ('\n        && '.join(conds)) + ';')
        out += ['}', '']
        return out

    # -- decode
    def read_scalar(self, fl, R, dst, flex, null_cond):
        """Lines reading one non-array, non-struct value into dst."""
        p = fl.prim
        if p in ('string', 'bytes', 'records'):
            kind = 'string' if p == 'string' else 'bytes'
            rd = pick(flex, 'wire_read_compact_%s(%s)' % (kind, R), 'wire_read_%s(%s)' % (kind, R))
            lines = ['%s = %s;' % (dst, rd)]
            if null_cond != '1':
                c = '%s.len < 0' % dst
                if null_cond != '0':
                    c += ' && !(%s)' % null_cond
                lines.append('if (%s) return -1;' % c)
            return lines
        return ['%s = %s(%s);' % (dst, PRIMS[p][2], R)]

    def read_field(self, fl, R):
        msg = self.msg
        flex = flex_cond(fl, msg)
        nullc = ver_cond(fl.nullable, msg)
        dst = 'm->' + fl.cname
        if fl.is_array:
            lines = ['int32_t n = %s;' % pick(flex, 'wire_read_compact_array_len(%s)' % R,
                                               'wire_read_array_len(%s)' % R),
                     'if ((%s)->error) return -1;' % R]
            if nullc != '1':
                c = 'n < 0' + ('' if nullc == '0' else ' && !(%s)' % nullc)
                lines.append('if (%s) return -1;' % c)
            lines.append('if (n > 0 && (size_t)n > wire_reader_remaining(%s)) return -1;' % R)
            lines.append('%s_count = n;' % dst)
            lines.append('%s = NULL;' % dst)
            lines.append('if (n > 0) {')
            lines.append('    %s = arena_alloc_array(a, (size_t)n, sizeof(*%s));' % (dst, dst))
            lines.append('    if (!%s) return -1;' % dst)
            lines.append('    for (int32_t i = 0; i < n; i++) {')
            if fl.struct:
                lines.append('        if (%s_read(%s, version, &%s[i], a)) return -1;' % (fl.struct.cname, R, dst))
            else:
                el = self.read_scalar(fl, R, dst + '[i]', flex, '0')
                lines += ['        ' + l for l in el]
            lines.append('    }')
            lines.append('}')
            return ['{'] + ['    ' + l for l in lines] + ['}']
        if fl.struct:
            if fl.nullable is None:
                return ['if (%s_read(%s, version, &%s, a)) return -1;' % (fl.struct.cname, R, dst)]
            lines = ['int8_t present = wire_read_int8(%s);' % R,
                     'if ((%s)->error) return -1;' % R,
                     '%s = NULL;' % dst,
                     'if (present >= 0) {',
                     '    %s = arena_alloc(a, sizeof(*%s));' % (dst, dst),
                     '    if (!%s) return -1;' % dst,
                     '    if (%s_read(%s, version, %s, a)) return -1;' % (fl.struct.cname, R, dst),
                     '}']
            if nullc != '1':
                lines.insert(2, 'if (present < 0%s) return -1;' % ('' if nullc == '0' else ' && !(%s)' % nullc))
            return ['{'] + ['    ' + l for l in lines] + ['}']
        return self.read_scalar(fl, R, dst, flex, nullc)

    def read_fn(self, st):
        msg = self.msg
        out = ['static int %s_read(struct wire_reader *r, int16_t version, struct %s *m, struct arena *a)'
               % (st.cname, st.cname), '{']
        out.append('    (void)version;')
        out.append('    (void)a;')
        out.append('    %s_init(m);' % st.cname)
        for fl in st.fields:
            if fl.tagged is not None:
                continue
            cond = ver_cond(fl.versions, msg)
            out += ['    ' + l for l in guard(cond, self.read_field(fl, 'r'), '')]
        tagged = sorted([fl for fl in st.fields if fl.tagged is not None], key=lambda f: f.tag)
        flex = flex_cond(None, msg)
        if flex != '0' and not tagged:
            out += ['    ' + l for l in guard(flex, ['wire_skip_tagged_fields(r);'], '')]
        elif flex != '0':
            body = ['uint32_t ntags = wire_read_uvarint(r);',
                    'for (uint32_t t = 0; t < ntags && !r->error; t++) {',
                    '    uint32_t tag = wire_read_uvarint(r);',
                    '    uint32_t len = wire_read_uvarint(r);',
                    '    const uint8_t *p = wire_read_raw(r, len);',
                    '    if (!p) return -1;']
            if tagged:
                body.append('    struct wire_reader tr;')
                body.append('    wire_reader_init(&tr, p, len);')
                body.append('    switch (tag) {')
                for fl in tagged:
                    body.append('    case %d:' % fl.tag)
                    cond = ver_cond(fl.tagged, msg)
                    inner = self.read_field(fl, '&tr') + ['if (tr.error) return -1;']
                    body += ['        ' + l for l in guard(cond, inner, '')]
                    body.append('        break;')
                body.append('    default:')
                body.append('        break;')
                body.append('    }')
            body.append('}')
            out += ['    ' + l for l in guard(flex, body, '')]
        out.append('    return r->error ? -1 : 0;')
        out += ['}', '']
        return out

    # -- size
    def size_scalar(self, fl, x, flex):
        p = fl.prim
        if p == 'string':
            return pick(flex, 'wire_compact_string_size(%s)' % x, 'wire_string_size(%s)' % x)
        if p in ('bytes', 'records'):
            return pick(flex, 'wire_compact_bytes_size(%s)' % x, 'wire_bytes_size(%s)' % x)
        return str(PRIMS[p][1])

    def size_field(self, fl, acc):
        """Lines adding the encoded size of field fl (value only) to acc."""
        flex = flex_cond(fl, self.msg)
        x = 'm->' + fl.cname
        if fl.is_array:
            lines = ['%s += %s;' % (acc, pick(flex, 'wire_compact_array_len_size(%s_count)' % x, '4'))]
            if fl.struct:
                lines.append('for (int32_t i = 0; i < %s_count; i++)' % x)
                lines.append('    %s += %s_sz(version, &%s[i]);' % (acc, fl.struct.cname, x))
            elif PRIMS[fl.prim][1] is not None:
                lines.append('if (%s_count > 0) %s += (size_t)%s_count * %d;' % (x, acc, x, PRIMS[fl.prim][1]))
            else:
                lines.append('for (int32_t i = 0; i < %s_count; i++)' % x)
                lines.append('    %s += %s;' % (acc, self.size_scalar(fl, x + '[i]', flex)))
            return lines
        if fl.struct:
            if fl.nullable is None:
                return ['%s += %s_sz(version, &%s);' % (acc, fl.struct.cname, x)]
            return ['%s += 1;' % acc, 'if (%s) %s += %s_sz(version, %s);' % (x, acc, fl.struct.cname, x)]
        return ['%s += %s;' % (acc, self.size_scalar(fl, x, flex))]

    def tag_present(self, fl):
        cond = ver_cond(fl.tagged, self.msg)
        nd = '!(%s)' % is_default_cond(fl)
        return nd if cond == '1' else '(%s) && %s' % (cond, nd)

    def sz_fn(self, st):
        msg = self.msg
        out = ['static size_t %s_sz(int16_t version, const struct %s *m)' % (st.cname, st.cname), '{',
               '    size_t n = 0;', '    (void)version;', '    (void)m;']
        for fl in st.fields:
            if fl.tagged is not None:
                continue
            out += ['    ' + l for l in guard(ver_cond(fl.versions, msg), self.size_field(fl, 'n'), '')]
        flex = flex_cond(None, msg)
        tagged = sorted([fl for fl in st.fields if fl.tagged is not None], key=lambda f: f.tag)
        if flex != '0' and not tagged:
            out += ['    ' + l for l in guard(flex, ['n += 1; /* empty tagged-field section */'], '')]
        elif flex != '0':
            body = ['uint32_t ntags = 0;']
            for fl in tagged:
                body.append('if (%s) {' % self.tag_present(fl))
                body.append('    size_t v = 0;')
                body += ['    ' + l for l in self.size_field(fl, 'v')]
                body.append('    n += wire_uvarint_size(%d) + wire_uvarint_size((uint32_t)v) + v;' % fl.tag)
                body.append('    ntags++;')
                body.append('}')
            body.append('n += wire_uvarint_size(ntags);')
            out += ['    ' + l for l in guard(flex, body, '')]
        out += ['    return n;', '}', '']
        return out

    # -- encode
    def write_scalar(self, fl, x, flex, null_cond):
        p = fl.prim
        if p in ('string', 'bytes', 'records'):
            kind = 'string' if p == 'string' else 'bytes'
            lines = []
            if null_cond != '1':
                c = '%s.len < 0' % x + ('' if null_cond == '0' else ' && !(%s)' % null_cond)
                lines.append('if (%s) wire_writer_fail(w, WIRE_ERR_INVALID);' % c)
            if flex == '1':
                lines.append('wire_write_compact_%s(w, %s);' % (kind, x))
            elif flex == '0':
                lines.append('wire_write_%s(w, %s);' % (kind, x))
            else:
                lines.append('if (%s) wire_write_compact_%s(w, %s);' % (flex, kind, x))
                lines.append('else wire_write_%s(w, %s);' % (kind, x))
            return lines
        return ['%s(w, %s);' % (PRIMS[p][3], x)]

    def write_field(self, fl):
        msg = self.msg
        flex = flex_cond(fl, msg)
        nullc = ver_cond(fl.nullable, msg)
        x = 'm->' + fl.cname
        if fl.is_array:
            lines = []
            if nullc != '1':
                c = '%s_count < 0' % x + ('' if nullc == '0' else ' && !(%s)' % nullc)
                lines.append('if (%s) wire_writer_fail(w, WIRE_ERR_INVALID);' % c)
            if flex == '1':
                lines.append('wire_write_compact_array_len(w, %s_count);' % x)
            elif flex == '0':
                lines.append('wire_write_array_len(w, %s_count);' % x)
            else:
                lines.append('if (%s) wire_write_compact_array_len(w, %s_count);' % (flex, x))
                lines.append('else wire_write_array_len(w, %s_count);' % x)
            lines.append('for (int32_t i = 0; i < %s_count; i++)' % x)
            if fl.struct:
                lines.append('    %s_write(w, version, &%s[i]);' % (fl.struct.cname, x))
            else:
                el = self.write_scalar(fl, x + '[i]', flex, '0')
                if len(el) == 1:
                    lines.append('    ' + el[0])
                else:
                    lines[-1] += ' {'
                    lines += ['        ' + l for l in el] + ['    }']
            return lines
        if fl.struct:
            if fl.nullable is None:
                return ['%s_write(w, version, &%s);' % (fl.struct.cname, x)]
            lines = []
            if nullc != '1':
                c = '!%s' % x + ('' if nullc == '0' else ' && !(%s)' % nullc)
                lines.append('if (%s) wire_writer_fail(w, WIRE_ERR_INVALID);' % c)
            lines += ['if (!%s) {' % x, '    wire_write_int8(w, -1);', '} else {',
                      '    wire_write_int8(w, 1);',
                      '    %s_write(w, version, %s);' % (fl.struct.cname, x), '}']
            return lines
        return self.write_scalar(fl, x, flex, nullc)

    def write_fn(self, st):
        msg = self.msg
        out = ['static void %s_write(struct wire_writer *w, int16_t version, const struct %s *m)'
               % (st.cname, st.cname), '{', '    (void)version;', '    (void)m;']
        for fl in st.fields:
            if fl.tagged is not None:
                continue
            out += ['    ' + l for l in guard(ver_cond(fl.versions, msg), self.write_field(fl), '')]
        flex = flex_cond(None, msg)
        tagged = sorted([fl for fl in st.fields if fl.tagged is not None], key=lambda f: f.tag)
        if flex != '0' and not tagged:
            out += ['    ' + l for l in guard(flex, ['wire_write_uint8(w, 0); /* empty tagged-field section */'], '')]
        elif flex != '0':
            body = ['uint32_t ntags = 0;']
            for fl in tagged:
                body.append('if (%s) ntags++;' % self.tag_present(fl))
            body.append('wire_write_uvarint(w, ntags);')
            for fl in tagged:
                body.append('if (%s) {' % self.tag_present(fl))
                body.append('    size_t v = 0;')
                body += ['    ' + l for l in self.size_field(fl, 'v')]
                body.append('    wire_write_uvarint(w, %d);' % fl.tag)
                body.append('    wire_write_uvarint(w, (uint32_t)v);')
                body += ['    ' + l for l in self.write_field(fl)]
                body.append('}')
            out += ['    ' + l for l in guard(flex, body, '')]
        out += ['}', '']
        return out

    # -- public entry points of the top struct
    def public_fns(self):
        msg, c = self.msg, self.msg.cname
        lo, hi = msg.valid
        vcheck = 'version < %d || version > %d' % (lo, hi)
        return [
            'int %s_decode(struct wire_reader *r, int16_t version, struct %s *m, struct arena *a)' % (c, c),
            '{',
            '    if (%s) {' % vcheck,
            '        %s_init(m);' % c,
            '        return -1;',
            '    }',
            '    if (%s_read(r, version, m, a) || r->error) {' % c,
            '        if (!r->error) r->error = WIRE_ERR_INVALID;',
            '        return -1;',
            '    }',
            '    return 0;',
            '}',
            '',
            'size_t %s_size(int16_t version, const struct %s *m)' % (c, c),
            '{',
            '    if (%s) return 0;' % vcheck,
            '    return %s_sz(version, m);' % c,
            '}',
            '',
            'int %s_encode(struct wire_writer *w, int16_t version, const struct %s *m)' % (c, c),
            '{',
            '    if (%s) return -1;' % vcheck,
            '    %s_write(w, version, m);' % c,
            '    return w->error ? -1 : 0;',
            '}',
            '',
        ]

    def prototypes(self):
        """Public prototypes for the header."""
        out = []
        for st in self.msg.order:
            out.append('void %s_init(struct %s *m);' % (st.cname, st.cname))
        c = self.msg.cname
        lo, hi = self.msg.valid
        out.append('/* versions %d-%d%s */' % (lo, hi, '' if self.msg.flex_lo is None
                                              else ', flexible from %d' % self.msg.flex_lo))
        out.append('int %s_decode(struct wire_reader *r, int16_t version, struct %s *m, struct arena *a);' % (c, c))
        out.append('size_t %s_size(int16_t version, const struct %s *m);' % (c, c))
        out.append('int %s_encode(struct wire_writer *w, int16_t version, const struct %s *m);' % (c, c))
        return out

    def static_prototypes(self):
        out = []
        for st in self.msg.order:
            c = st.cname
            out.append('static int %s_read(struct wire_reader *r, int16_t version, struct %s *m, struct arena *a);' % (c, c))
            out.append('static size_t %s_sz(int16_t version, const struct %s *m);' % (c, c))
            out.append('static void %s_write(struct wire_writer *w, int16_t version, const struct %s *m);' % (c, c))
            if c in self.need_is_default:
                out.append('static bool %s_is_default(const struct %s *m);' % (c, c))
        return out

    def body(self):
        out = []
        for st in self.msg.order:
            out += self.init_fn(st)
            if st.cname in self.need_is_default:
                out += self.is_default_fn(st)
            out += self.read_fn(st)
            out += self.sz_fn(st)
            out += self.write_fn(st)
        out += self.public_fns()
        return out

    # -- test fill (test_fill.c)
    def fill_fns(self):
        msg = self.msg
        out = []
        for st in msg.order:
            static = '' if st is msg.top else 'static '
            out.append('%svoid %s_fill_test(struct %s *m, int16_t version, struct arena *a, unsigned seed)'
                       % (static, st.cname, st.cname))
            out.append('{')
            out += ['    (void)version;', '    (void)a;', '    (void)seed;',
                    '    %s_init(m);' % st.cname]
            for k, fl in enumerate(st.fields):
                cond = ver_cond(fl.tagged if fl.tagged is not None else fl.versions, msg)
                if fl.tagged is not None and fl.versions is not None:
                    c2 = ver_cond(fl.versions, msg)
                    if c2 == '0':
                        cond = '0'
                out += ['    ' + l for l in guard(cond, self.fill_field(fl, k), '')]
            out += ['}', '']
        return out

    def fill_scalar(self, fl, dst, seed):
        p = fl.prim
        if p == 'bool':
            return ['%s = %s;' % (dst, 'false' if int_default(fl) else 'true')]
        if p in INT_RANGES:
            lo, hi = INT_RANGES[p]
            d = int_default(fl)
            return ['%s = (%s)test_fill_int(%s, %s, %s, %s);' % (
                dst, PRIMS[p][0], c_int_literal(d, 'int64'), c_int_literal(lo, 'int64'),
                c_int_literal(min(hi, 2**63 - 1), 'int64'), seed)]
        if p == 'float64':
            return ['%s = %s + 1.5 + (double)(%s %% 5u);' % (dst, default_expr(fl), seed)]
        if p == 'uuid':
            return ['%s = test_fill_uuid(%s);' % (dst, seed)]
        if p == 'string':
            return ['%s = test_fill_string(a, "%s", %s);' % (dst, fl.cname, seed)]
        return ['%s = test_fill_bytes(a, %s);' % (dst, seed)]

    def fill_field(self, fl, k):
        msg = self.msg
        x = 'm->' + fl.cname
        seed = '(seed * 31u + %du)' % (k + 1)
        nullc = ver_cond(fl.nullable, msg)
        # Null is worth testing when it is not the default (else it is the init value).
        can_null = nullc != '0' and not default_is_null(fl)
        null_guard = '(%s) && %s %% 3u == 2u' % (nullc, seed) if can_null else None
        if fl.is_array:
            lines = ['%s_count = (int32_t)(1 + %s %% 2u);' % (x, seed),
                     '%s = arena_alloc_array(a, (size_t)%s_count, sizeof(*%s));' % (x, x, x),
                     'for (int32_t i = 0; i < %s_count; i++) {' % x]
            es = '(%s + (unsigned)i * 7u)' % seed
            if fl.struct:
                lines.append('    %s_fill_test(&%s[i], version, a, %s);' % (fl.struct.cname, x, es))
            else:
                lines += ['    ' + l for l in self.fill_scalar(fl, x + '[i]', es)]
            lines.append('}')
            if null_guard:
                return ['if (%s) {' % null_guard, '    %s_count = -1;' % x, '} else {'] + \
                    ['    ' + l for l in lines] + ['}']
            return lines
        if fl.struct:
            if fl.nullable is None:
                return ['%s_fill_test(&%s, version, a, %s);' % (fl.struct.cname, x, seed)]
            return ['%s = arena_alloc(a, sizeof(*%s));' % (x, x),
                    '%s_fill_test(%s, version, a, %s);' % (fl.struct.cname, x, seed)]
        lines = self.fill_scalar(fl, x, seed)
        if null_guard and fl.prim in ('string', 'bytes', 'records'):
            nul = 'kstr_null()' if fl.prim == 'string' else 'kbytes_null()'
            return ['if (%s) {' % null_guard, '    %s = %s;' % (x, nul), '} else {'] + \
                ['    ' + l for l in lines] + ['}']
        return lines


# ---------------------------------------------------------------- files

HEADER_NOTE = '/* Generated by tools/gen-protocol/gen.py from Kafka\'s JSON schemas. Do not edit. */'


def api_base_name(msg):
    n = msg.name
    for suf in ('Request', 'Response'):
        if n.endswith(suf):
            return n[:-len(suf)]
    return n


WRITTEN = set()


def write(path, lines):
    """Write only when the content changed, so that make does not rebuild
    (and other people's builds do not recompile) untouched files."""
    text = '\n'.join(lines).rstrip('\n') + '\n'
    text = re.sub(r'\n{3,}', '\n\n', text)
    WRITTEN.add(os.path.abspath(path))
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def guard_name(fname):
    return 'EDDY_PROTOCOL_GENERATED_' + re.sub(r'[^A-Za-z0-9]', '_', fname).upper()


def emit_unit(out_dir, fname, title, msgs):
    """One .h/.c pair holding the given messages."""
    gens = [Gen(m) for m in msgs]
    h = [HEADER_NOTE, '/* %s */' % title, '#ifndef ' + guard_name(fname + '.h'),
         '#define ' + guard_name(fname + '.h'), '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
         '#include "protocol/wire.h"', '#include "util/arena.h"', '']
    for g in gens:
        h.append('/* ---- %s ---- */' % g.msg.name)
        for st in g.msg.order:
            h += g.struct_def(st) + ['']
        h += g.prototypes() + ['']
    h.append('#endif')
    write(os.path.join(out_dir, fname + '.h'), h)
    c = [HEADER_NOTE, '/* %s */' % title, '#include "protocol/generated/%s.h"' % fname, '',
         '#include <string.h>', '']
    for g in gens:
        c += g.static_prototypes()
    c.append('')
    for g in gens:
        c += g.body()
    write(os.path.join(out_dir, fname + '.c'), c)


def listener_flags(msg):
    flags = []
    for l in msg.listeners:
        flags.append({'zkBroker': 'API_LISTENER_ZK_BROKER', 'broker': 'API_LISTENER_BROKER',
                      'controller': 'API_LISTENER_CONTROLLER'}[l])
    return ' | '.join(sorted(flags)) or '0'


def emit_table(out_dir, apis):
    """api_table.h/.c: the API table and dispatchers by api key."""
    h = [HEADER_NOTE,
         '/* The table of Kafka APIs and codec dispatch by api key. */',
         '#ifndef ' + guard_name('api_table.h'), '#define ' + guard_name('api_table.h'), '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
         '#include "protocol/wire.h"', '#include "util/arena.h"', '',
         'enum api_key {']
    for key, req, resp in apis:
        h.append('    API_%s = %d,' % (snake(api_base_name(req)).upper(), key))
    h += ['};', '', '#define API_KEY_COUNT %d' % (max(k for k, _, _ in apis) + 1), '',
          'enum api_listener {', '    API_LISTENER_ZK_BROKER = 1,', '    API_LISTENER_BROKER = 2,',
          '    API_LISTENER_CONTROLLER = 4,', '};', '',
          'struct api_info {',
          '    int16_t key;',
          '    const char *name;           /* "Metadata" */',
          '    int16_t min_version, max_version;',
          '    int16_t flexible_min;       /* first flexible version, -1 none */',
          '    bool latest_unstable;       /* max_version is still in development */',
          '    uint8_t listeners;          /* API_LISTENER_* bits */',
          '    int16_t deprecated_min, deprecated_max; /* -1 none */',
          '    size_t request_struct_size, response_struct_size;',
          '};', '',
          '/* NULL for an unknown key. */',
          'const struct api_info *api_info_get(int16_t api_key);',
          '/* Request header version (0, 1 or 2) for this API and version; -1 unknown key.',
          ' * A version above the supported range still gets the header its flexibility',
          ' * implies, so that an UNSUPPORTED_VERSION answer can be correlated. */',
          'int request_header_version(int16_t api_key, int16_t api_version);',
          '/* Response header version (0 or 1); ApiVersions is always 0. -1 unknown key. */',
          'int response_header_version(int16_t api_key, int16_t api_version);',
          '',
          '/* Generic codec by api key; msg points to the matching struct',
          ' * (e.g. struct metadata_request for API_METADATA). Decode/encode return -1 for',
          ' * an unknown key or version, size returns 0. */',
          'size_t api_request_struct_size(int16_t api_key);',
          'size_t api_response_struct_size(int16_t api_key);',
          'int api_request_init(int16_t api_key, void *msg);',
          'int api_response_init(int16_t api_key, void *msg);',
          'int api_request_decode(int16_t api_key, int16_t version, struct wire_reader *r, void *msg, struct arena *a);',
          'int api_response_decode(int16_t api_key, int16_t version, struct wire_reader *r, void *msg, struct arena *a);',
          'size_t api_request_size(int16_t api_key, int16_t version, const void *msg);',
          'size_t api_response_size(int16_t api_key, int16_t version, const void *msg);',
          'int api_request_encode(int16_t api_key, int16_t version, struct wire_writer *w, const void *msg);',
          'int api_response_encode(int16_t api_key, int16_t version, struct wire_writer *w, const void *msg);',
          '', '#endif']
    write(os.path.join(out_dir, 'api_table.h'), h)
    c = [HEADER_NOTE, '/* The table of Kafka APIs and codec dispatch by api key. */',
         '#include "protocol/generated/api_table.h"', '#include "protocol/generated/messages.h"', '',
         'static const struct api_info api_table[API_KEY_COUNT] = {']
    for key, req, resp in apis:
        dep = req.deprecated
        c.append('    [%d] = {%d, "%s", %d, %d, %d, %s, %s, %d, %d, sizeof(struct %s), sizeof(struct %s)},' % (
            key, key, api_base_name(req), req.valid[0], req.valid[1],
            -1 if req.flex_lo is None else req.flex_lo, 'true' if req.unstable else 'false',
            listener_flags(req), dep[0] if dep else -1, (min(dep[1], req.valid[1]) if dep else -1),
            req.cname, resp.cname))
    c += ['};', '',
          'const struct api_info *api_info_get(int16_t api_key)',
          '{',
          '    if (api_key < 0 || api_key >= API_KEY_COUNT || !api_table[api_key].name)',
          '        return NULL;',
          '    return &api_table[api_key];',
          '}', '',
          'int request_header_version(int16_t api_key, int16_t api_version)',
          '{',
          '    const struct api_info *info = api_info_get(api_key);',
          '    if (!info)',
          '        return -1;',
          '    if (info->flexible_min >= 0 && api_version >= info->flexible_min)',
          '        return 2;',
          '    /* Only ControlledShutdown v0 predates the client id. */',
          '    if (api_key == API_CONTROLLED_SHUTDOWN && api_version == 0)',
          '        return 0;',
          '    return 1;',
          '}', '',
          'int response_header_version(int16_t api_key, int16_t api_version)',
          '{',
          '    const struct api_info *info = api_info_get(api_key);',
          '    if (!info)',
          '        return -1;',
          '    /* KIP-511: clients read the ApiVersions response before knowing versions. */',
          '    if (api_key == API_API_VERSIONS)',
          '        return 0;',
          '    return info->flexible_min >= 0 && api_version >= info->flexible_min ? 1 : 0;',
          '}', '']
    for side, idx in (('request', 1), ('response', 2)):
        c += ['size_t api_%s_struct_size(int16_t api_key)' % side, '{',
              '    const struct api_info *info = api_info_get(api_key);',
              '    return info ? info->%s_struct_size : 0;' % side, '}', '']
        for fn, sig, call, fail in (
                ('init', 'int16_t api_key, void *msg', '%s_init(msg); return 0;', 'return -1;'),
                ('decode', 'int16_t api_key, int16_t version, struct wire_reader *r, void *msg, struct arena *a',
                 'return %s_decode(r, version, msg, a);', 'return -1;'),
                ('size', 'int16_t api_key, int16_t version, const void *msg',
                 'return %s_size(version, msg);', 'return 0;'),
                ('encode', 'int16_t api_key, int16_t version, struct wire_writer *w, const void *msg',
                 'return %s_encode(w, version, msg);', 'return -1;')):
            ret = 'size_t' if fn == 'size' else 'int'
            c += ['%s api_%s_%s(%s)' % (ret, side, fn, sig), '{']
            if fn != 'init':
                c.append('    (void)version;')
            c.append('    switch (api_key) {')
            for api in apis:
                m = api[idx]
                c.append('    case %d: %s' % (api[0], call % m.cname))
            c += ['    default: %s' % fail, '    }', '}', '']
    write(os.path.join(out_dir, 'api_table.c'), c)


def emit_test_fill(out_dir, all_msgs, apis):
    h = [HEADER_NOTE,
         '/* Test support: fill messages with non-default values valid for a version.',
         ' * Every field present in that version gets a value different from its',
         ' * default (strings/arrays allocated from the arena, seed varies values). */',
         '#ifndef ' + guard_name('test_fill.h'), '#define ' + guard_name('test_fill.h'), '',
         '#include "protocol/generated/messages.h"', '']
    for m in all_msgs:
        h.append('void %s_fill_test(struct %s *m, int16_t version, struct arena *a, unsigned seed);'
                 % (m.cname, m.cname))
    h += ['', '/* Every schema that is not an API request/response (headers, data schemas,',
          ' * metadata and internal records), with generic entry points, so tests can',
          ' * walk them all. */',
          'struct test_schema {',
          '    const char *name;',
          '    int16_t min_version, max_version;',
          '    size_t struct_size;',
          '    void (*fill)(void *m, int16_t version, struct arena *a, unsigned seed);',
          '    int (*decode)(struct wire_reader *r, int16_t version, void *m, struct arena *a);',
          '    size_t (*size)(int16_t version, const void *m);',
          '    int (*encode)(struct wire_writer *w, int16_t version, const void *m);',
          '};',
          'extern const struct test_schema test_schemas[];',
          'extern const size_t test_schema_count;']
    h += ['', '/* By api key; -1 for an unknown key. */',
          'int api_request_fill_test(int16_t api_key, void *msg, int16_t version, struct arena *a, unsigned seed);',
          'int api_response_fill_test(int16_t api_key, void *msg, int16_t version, struct arena *a, unsigned seed);',
          '', '#endif']
    write(os.path.join(out_dir, 'test_fill.h'), h)
    c = [HEADER_NOTE, '/* Test support (see test_fill.h). */',
         '#include "protocol/generated/test_fill.h"', '', '#include <stdio.h>', '#include <string.h>', '',
         '/* A value of [lo, hi] different from d that depends on seed. */',
         'static int64_t test_fill_int(int64_t d, int64_t lo, int64_t hi, unsigned seed)',
         '{',
         '    int64_t step = 1 + (int64_t)(seed % 7u);',
         '    if (d <= hi - step)',
         '        return d + step;',
         '    (void)lo;',
         '    return d - step;',
         '}', '',
         'static struct kuuid test_fill_uuid(unsigned seed)',
         '{',
         '    struct kuuid u;',
         '    for (int i = 0; i < 16; i++)',
         '        u.bytes[i] = (uint8_t)(seed * 13u + (unsigned)i + 1u);',
         '    return u;',
         '}', '',
         'static struct kstr test_fill_string(struct arena *a, const char *name, unsigned seed)',
         '{',
         '    char buf[96];',
         '    int n = snprintf(buf, sizeof buf, "%s-%u", name, seed % 1000u);',
         '    if (n < 0)',
         '        n = 0;',
         '    if ((size_t)n >= sizeof buf)',
         '        n = (int)sizeof buf - 1;',
         '    struct kstr s = {arena_strndup(a, buf, (size_t)n), n};',
         '    return s;',
         '}', '',
         'static struct kbytes test_fill_bytes(struct arena *a, unsigned seed)',
         '{',
         '    int32_t n = (int32_t)(1 + seed % 9u);',
         '    uint8_t *p = arena_alloc(a, (size_t)n);',
         '    for (int32_t i = 0; i < n; i++)',
         '        p[i] = (uint8_t)(seed + (unsigned)i * 3u);',
         '    struct kbytes b = {p, n};',
         '    return b;',
         '}', '']
    for m in all_msgs:
        g = Gen(m)
        for st in m.order:
            if st is not m.top:
                c.append('static void %s_fill_test(struct %s *m, int16_t version, struct arena *a, unsigned seed);'
                         % (st.cname, st.cname))
    c.append('')
    for m in all_msgs:
        c += Gen(m).fill_fns()
    for side, idx in (('request', 1), ('response', 2)):
        c += ['int api_%s_fill_test(int16_t api_key, void *msg, int16_t version, struct arena *a, unsigned seed)' % side,
              '{', '    switch (api_key) {']
        for api in apis:
            c.append('    case %d: %s_fill_test(msg, version, a, seed); return 0;' % (api[0], api[idx].cname))
        c += ['    default: return -1;', '    }', '}', '']
    api_names = set()
    for api in apis:
        api_names.add(api[1].name)
        api_names.add(api[2].name)
    others = [m for m in all_msgs if m.name not in api_names]
    for m in others:
        n = m.cname
        c += ['static void %s_fill_any(void *m, int16_t v, struct arena *a, unsigned seed)' % n,
              '{', '    %s_fill_test(m, v, a, seed);' % n, '}',
              'static int %s_decode_any(struct wire_reader *r, int16_t v, void *m, struct arena *a)' % n,
              '{', '    return %s_decode(r, v, m, a);' % n, '}',
              'static size_t %s_size_any(int16_t v, const void *m)' % n,
              '{', '    return %s_size(v, m);' % n, '}',
              'static int %s_encode_any(struct wire_writer *w, int16_t v, const void *m)' % n,
              '{', '    return %s_encode(w, v, m);' % n, '}', '']
    c.append('const struct test_schema test_schemas[] = {')
    for m in others:
        n = m.cname
        c.append('    {"%s", %d, %d, sizeof(struct %s), %s_fill_any, %s_decode_any, %s_size_any, %s_encode_any},'
                 % (m.name, m.valid[0], m.valid[1], n, n, n, n, n))
    c += ['};', 'const size_t test_schema_count = sizeof test_schemas / sizeof test_schemas[0];', '']
    write(os.path.join(out_dir, 'test_fill.c'), c)


DOC = r'''/* messages.h - the generated Kafka protocol codec: umbrella of every
 * generated header. Generated by tools/gen-protocol/gen.py; do not edit.
 *
 * NAMING. Message FooBarRequest -> struct foo_bar_request. A nested struct
 * type Baz of that message -> struct foo_bar_request_baz, unless the type name
 * already starts with the message name (MetadataResponseTopic ->
 * struct metadata_response_topic). Fields are snake_case
 * (AllowAutoTopicCreation -> allow_auto_topic_creation); a name that is a C
 * keyword gets a trailing underscore.
 *
 * FIELD TYPES. bool, int8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
 * double (float64), struct kuuid, struct kstr (string), struct kbytes (bytes
 * and records). kstr/kbytes len -1 = null; decoded ones point INTO the input
 * buffer (not NUL-terminated), so the input must outlive the struct.
 * Arrays are two members: int32_t <name>_count (-1 = null array) and
 * T *<name> (arena-allocated by decode). A struct-typed field is embedded,
 * or a pointer (NULL = null) when it is nullable in some version. Every field
 * of every version is present; fields absent from a version keep their
 * default. Each member's comment gives its versions, nullability, tag and
 * default.
 *
 * FUNCTIONS, for each message (and RequestHeader/ResponseHeader and the
 * "data" schemas):
 *   void foo_init(struct foo *m);      schema defaults; arrays empty (or null
 *                                      if the default is null). Every nested
 *                                      struct has an _init too: call it on
 *                                      array items you allocate.
 *   int foo_decode(struct wire_reader *r, int16_t version, struct foo *m,
 *                  struct arena *a);   0, or -1 on malformed input or an
 *                                      unsupported version (r->error set).
 *                                      Unknown tagged fields are skipped.
 *   size_t foo_size(int16_t version, const struct foo *m);  exact encoded size
 *                                      (0 for an unsupported version).
 *   int foo_encode(struct wire_writer *w, int16_t version, const struct foo *m);
 *                                      0, or -1 if the version is unsupported,
 *                                      the buffer is too small, or a null is
 *                                      set where the version does not allow it.
 * Encoding writes only the fields of that version: values of absent fields
 * are dropped silently. Tagged fields are written only when they differ from
 * their default.
 *
 * TABLE. api_table.h: enum api_key (API_PRODUCE...), struct api_info,
 * api_info_get(), request_header_version(), response_header_version(), and
 * api_request_decode/size/encode/init() (same for responses) by api key.
 * test_fill.h (test support only): foo_fill_test(m, version, arena, seed).
 */'''


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    schema_dir = args[0] if len(args) > 0 else '/work/shared/kafka-protocol/messages'
    out_dir = args[1] if len(args) > 1 else os.path.join(repo, 'src/protocol/generated')
    if '--check' in sys.argv:
        return check_up_to_date(schema_dir, out_dir)
    msgs = [load_message(p) for p in sorted(glob.glob(os.path.join(schema_dir, '*.json')))]
    by_name = {m.name: m for m in msgs}
    # Global uniqueness of generated struct names.
    seen = {}
    for m in msgs:
        for st in m.order:
            assert st.cname not in seen, 'struct name clash %s (%s, %s)' % (st.cname, m.name, seen[st.cname])
            seen[st.cname] = m.name
    os.makedirs(out_dir, exist_ok=True)
    apis = []
    for m in msgs:
        if m.kind == 'request':
            resp = by_name[m.name[:-len('Request')] + 'Response']
            apis.append((m.api_key, m, resp))
    apis.sort(key=lambda a: a[0])
    files = []
    for key, req, resp in apis:
        fname = snake(api_base_name(req))
        emit_unit(out_dir, fname, '%s (api key %d): request and response.' % (api_base_name(req), key),
                  [req, resp])
        files.append(fname)
    headers = [by_name['RequestHeader'], by_name['ResponseHeader']]
    emit_unit(out_dir, 'headers', 'Request and response headers.', headers)
    data = [m for m in msgs if m.kind == 'data']
    emit_unit(out_dir, 'data', 'Data schemas (consumer protocol, principal, KRaft control records).', data)
    files += ['headers', 'data']
    # KRaft metadata records and internal-topic (__consumer_offsets, ...) keys
    # and values live next to the message schemas; same naming rules.
    extra = []
    for sub, fname, title in (
            ('metadata', 'metadata_records', 'KRaft metadata log records (framing: README "Internal and KRaft record framing").'),
            ('internal', 'internal_records', 'Internal topic keys and values (__consumer_offsets, __transaction_state, share state).')):
        sub_dir = os.path.join(os.path.dirname(os.path.abspath(schema_dir)), sub)
        sub_msgs = [load_message(p) for p in sorted(glob.glob(os.path.join(sub_dir, '*.json')))]
        if not sub_msgs:
            continue
        for m in sub_msgs:
            for st in m.order:
                assert st.cname not in seen, 'struct name clash %s (%s, %s)' % (st.cname, m.name, seen[st.cname])
                seen[st.cname] = m.name
        emit_unit(out_dir, fname, title, sub_msgs)
        files.append(fname)
        extra += sub_msgs
    umbrella = [DOC, '#ifndef ' + guard_name('messages.h'), '#define ' + guard_name('messages.h'), '']
    umbrella += ['#include "protocol/generated/%s.h"' % f for f in files]
    umbrella += ['#include "protocol/generated/api_table.h"', '', '#endif']
    write(os.path.join(out_dir, 'messages.h'), umbrella)
    emit_table(out_dir, apis)
    emit_test_fill(out_dir, [a[1] for a in apis] + [a[2] for a in apis] + headers + data + extra, apis)
    for old in glob.glob(os.path.join(out_dir, '*.[ch]')):
        if os.path.abspath(old) not in WRITTEN:
            os.remove(old)
    print('generated %d APIs, %d messages, %d records into %s' % (len(apis), len(msgs), len(extra), out_dir))


def check_up_to_date(schema_dir, out_dir):
    """--check: regenerate into a scratch directory and compare with out_dir."""
    import filecmp
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.abspath(__file__), schema_dir, tmp], check=True,
                       stdout=subprocess.DEVNULL)
        want = sorted(os.listdir(tmp))
        have = sorted(f for f in os.listdir(out_dir) if f.endswith(('.c', '.h')))
        stale = [f for f in want if f not in have or not filecmp.cmp(os.path.join(tmp, f),
                                                                     os.path.join(out_dir, f), shallow=False)]
        stale += [f for f in have if f not in want]
    if stale:
        print('out of date: ' + ', '.join(stale))
        return 1
    print('generated code is up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())
