using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace RobustCli.Torch.Serialization;

/// <summary>A Python global the reader does not build (e.g. numpy scalars inside a checkpoint), kept as a record.</summary>
public sealed record PyObject(string Module, string Name, object?[] Args)
{
    public object? State { get; set; }
    public override string ToString() => $"{Module}.{Name}(...)";
}

/// <summary>A Python global referenced by the pickle (a class or function), before it is called.</summary>
public sealed record PyGlobal(string Module, string Name);

/// <summary>
/// A restricted unpickler for the pickles inside PyTorch's checkpoint archives: it builds dicts, lists,
/// tuples (object?[]), strings, numbers and tensors, and executes nothing. Globals other than the ones
/// torch.save emits for tensors and OrderedDict become <see cref="PyObject"/> records, so a checkpoint
/// with extra Python objects still yields its tensors (the spirit of torch.load(weights_only=True)).
/// A file is input from anyone: every length is checked against the bytes present before anything is allocated,
/// containers may nest at most <see cref="MaxDepth"/> deep and never contain themselves, and every malformed
/// stream ends in a <see cref="FormatException"/> that says what is wrong.
/// </summary>
public sealed class PickleReader
{
    private readonly byte[] data;
    private readonly Func<object?[], object?> persistentLoad;
    private readonly Func<PyGlobal, object?[], object?> reduce;
    private int pos;

    private static readonly object Mark = new();

    /// <summary>How deep containers may nest: a state dict inside a checkpoint is 3 or 4 levels; 100 is plenty.</summary>
    public const int MaxDepth = 100;

    public PickleReader(byte[] data, Func<object?[], object?> persistentLoad, Func<PyGlobal, object?[], object?> reduce)
    {
        this.data = data;
        this.persistentLoad = persistentLoad;
        this.reduce = reduce;
    }

    public object? Load()
    {
        object? root;
        try { root = Parse(); }
        catch (Exception e) when (e is InvalidCastException or NullReferenceException or ArgumentException or OverflowException
                                      or IndexOutOfRangeException or KeyNotFoundException or DecoderFallbackException)
        {
            throw new FormatException($"malformed pickle near byte {pos}: {e.Message}");
        }
        CheckNesting(root);
        return root;
    }

    /// <summary>
    /// Refuses a tree nested deeper than <see cref="MaxDepth"/> or containing itself (memo references can make
    /// both), iteratively: the readers after this one recurse over the tree, and shared references (a DAG) are
    /// visited once, so a small pickle cannot make exponential work.
    /// </summary>
    private static void CheckNesting(object? root)
    {
        var depth = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var open = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var work = new Stack<(object Node, bool Done)>();
        if (IsContainer(root)) work.Push((root!, false));
        while (work.Count > 0)
        {
            var (node, done) = work.Pop();
            if (done)
            {
                var d = 1 + Children(node).Where(IsContainer).Select(c => depth[c!]).DefaultIfEmpty(0).Max();
                if (d > MaxDepth) throw new FormatException($"containers nest more than {MaxDepth} deep: not a checkpoint");
                depth[node] = d;
                open.Remove(node);
                continue;
            }
            if (depth.ContainsKey(node)) continue;
            if (!open.Add(node)) throw new FormatException("a container holds itself: not a checkpoint");
            work.Push((node, true));
            if (open.Count > MaxDepth) throw new FormatException($"containers nest more than {MaxDepth} deep: not a checkpoint");
            foreach (var c in Children(node))
            {
                if (!IsContainer(c)) continue;
                if (open.Contains(c!)) throw new FormatException("a container holds itself: not a checkpoint");
                if (!depth.ContainsKey(c!)) work.Push((c!, false));
            }
        }
    }

    private static bool IsContainer(object? o) => o is IDictionary<object, object?> or List<object?> or object?[] or PyObject;

    private static IEnumerable<object?> Children(object node) => node switch
    {
        IDictionary<object, object?> d => d.Keys.Concat(d.Values),
        List<object?> l => l,
        object?[] t => t,
        PyObject p => p.Args.Append(p.State),
        _ => [],
    };

    private object? Parse()
    {
        var stack = new List<object?>();
        var memo = new Dictionary<long, object?>();
        while (true)
        {
            if (pos >= data.Length) throw new FormatException("pickle ended without STOP");
            var op = data[pos++];
            switch (op)
            {
                case 0x80: pos++; break; // PROTO
                case 0x95: pos += 8; break; // FRAME
                case (byte)'.': return Pop(stack); // STOP
                case (byte)'(': stack.Add(Mark); break;
                case (byte)'}': stack.Add(new OrderedDictionary<object, object?>()); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)Take(1)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add(ReadLong(Take(1)[0])); break; // LONG1
                case 0x8b: stack.Add(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))); break; // LONG4
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break;
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1)[0]))); break; // SHORT_BINUNICODE
                case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(Take(1)[0]))); break; // SHORT_BINSTRING
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break;
                case (byte)'C': stack.Add(Take(Take(1)[0]).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': stack.Add(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))).ToArray()); break;
                case (byte)'q': memo[Take(1)[0]] = Peek(stack); break; // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(stack); break;
                case 0x94: memo[memo.Count] = Peek(stack); break; // MEMOIZE
                case (byte)'h': stack.Add(Memo(memo, Take(1)[0])); break; // BINGET
                case (byte)'j': stack.Add(Memo(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'c': // GLOBAL "module\nname\n"
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    stack.Add(new PyGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = (string)Pop(stack)!;
                    var module = (string)Pop(stack)!;
                    stack.Add(new PyGlobal(module, name));
                    break;
                }
                case (byte)'t': stack.Add(PopMark(stack).ToArray()); break;
                case 0x85: stack.Add(new[] { Pop(stack) }); break;
                case 0x86: { var b = Pop(stack); var a = Pop(stack); stack.Add(new[] { a, b }); break; }
                case 0x87: { var c = Pop(stack); var b = Pop(stack); var a = Pop(stack); stack.Add(new[] { a, b, c }); break; }
                case (byte)'l': stack.Add(PopMark(stack)); break; // LIST
                case (byte)'d': // DICT
                {
                    var items = PopMark(stack);
                    var d = new OrderedDictionary<object, object?>();
                    for (var i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                    stack.Add(d);
                    break;
                }
                case (byte)'a': { var v = Pop(stack); ((List<object?>)Peek(stack)!).Add(v); break; }
                case (byte)'e': { var items = PopMark(stack); ((List<object?>)Peek(stack)!).AddRange(items); break; }
                case (byte)'s': { var v = Pop(stack); var k = Pop(stack); AsDict(Peek(stack))[Key(k)] = v; break; }
                case (byte)'u':
                {
                    var items = PopMark(stack);
                    var d = AsDict(Peek(stack));
                    for (var i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                    break;
                }
                case (byte)'Q': stack.Add(persistentLoad(AsTuple(Pop(stack)))); break; // BINPERSID
                case (byte)'R': // REDUCE
                {
                    var args = AsTuple(Pop(stack));
                    var fn = Pop(stack) as PyGlobal ?? throw new FormatException("REDUCE on something that is not a global");
                    stack.Add(reduce(fn, args));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = AsTuple(Pop(stack));
                    var cls = Pop(stack) as PyGlobal ?? throw new FormatException("NEWOBJ on something that is not a global");
                    stack.Add(reduce(cls, args));
                    break;
                }
                case (byte)'b': // BUILD: attributes of an object; OrderedDict's _metadata is dropped.
                {
                    var state = Pop(stack);
                    if (Peek(stack) is PyObject o) o.State = state;
                    break;
                }
                case (byte)'0': Pop(stack); break; // POP
                case (byte)'1': PopMark(stack); break; // POP_MARK
                case (byte)'2': stack.Add(Peek(stack)); break; // DUP
                default:
                    throw new FormatException($"unsupported pickle opcode 0x{op:x2} at byte {pos - 1}");
            }
        }
    }

    private static object Key(object? k) => k switch
    {
        null => throw new FormatException("dictionary key None is not supported"),
        object?[] t => string.Join(",", t),
        _ => k,
    };

    private static IDictionary<object, object?> AsDict(object? o) =>
        o as IDictionary<object, object?> ?? throw new FormatException($"SETITEM(S) on a {o?.GetType().Name ?? "None"}, not a dict");

    private static object?[] AsTuple(object? o) => o switch
    {
        object?[] t => t,
        List<object?> l => l.ToArray(),
        _ => throw new FormatException("expected a tuple of arguments"),
    };

    private static object? Memo(Dictionary<long, object?> memo, long key) =>
        memo.TryGetValue(key, out var v) ? v : throw new FormatException($"pickle memo has no entry {key}");

    private static object? Pop(List<object?> stack)
    {
        if (stack.Count == 0) throw new FormatException("pickle stack underflow");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private static object? Peek(List<object?> stack) =>
        stack.Count > 0 ? stack[^1] : throw new FormatException("pickle stack underflow");

    private static List<object?> PopMark(List<object?> stack)
    {
        var i = stack.LastIndexOf(Mark);
        if (i < 0) throw new FormatException("pickle MARK not found");
        var items = stack.GetRange(i + 1, stack.Count - i - 1);
        stack.RemoveRange(i, stack.Count - i);
        return items;
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || pos + n > data.Length) throw new FormatException("pickle truncated");
        var s = new ReadOnlySpan<byte>(data, pos, n);
        pos += n;
        return s;
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(data, (byte)'\n', pos);
        if (end < 0) throw new FormatException("pickle truncated in GLOBAL");
        var s = Encoding.ASCII.GetString(data, pos, end - pos);
        pos = end + 1;
        return s;
    }

    private object ReadLong(int n)
    {
        var bytes = Take(n);
        var v = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;
    }
}
