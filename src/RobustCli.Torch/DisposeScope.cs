namespace RobustCli.Torch;

/// <summary>
/// Frees every tensor made inside it when it is disposed, except those moved out
/// (<see cref="Tensor.MoveToOuterScope"/>) or detached (<see cref="Tensor.DetachFromScope"/>), such as
/// parameters and optimiser state. Scopes nest per thread and are dynamic: tensors made by called
/// functions land in the innermost scope open on the calling thread. One scope per minibatch keeps a
/// training loop's memory flat.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new(64);
    private bool disposed;

    public DisposeScope? Outer { get; }

    private DisposeScope(DisposeScope? outer) { Outer = outer; }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => current;

    /// <summary>Opens a scope on this thread; dispose it (using) to free what it owns.</summary>
    public static DisposeScope Open()
    {
        var s = new DisposeScope(current);
        current = s;
        return s;
    }

    /// <summary>Tensors this scope will free when it closes.</summary>
    public int OwnedCount
    {
        get
        {
            var n = 0;
            foreach (var t in owned) if (t.Scope == this && !t.IsDisposed) n++;
            return n;
        }
    }

    internal void Attach(Tensor t)
    {
        if (disposed) throw new ObjectDisposedException(nameof(DisposeScope), "cannot attach a tensor to a closed scope");
        t.Scope = this;
        owned.Add(t);
    }

    /// <summary>Frees everything the scope owns now, but keeps the scope open (and <paramref name="keep"/> alive).</summary>
    public void DisposeEverythingBut(params Tensor[] keep)
    {
        foreach (var k in keep) if (k.Scope == this) k.Scope = null;
        FreeOwned();
        foreach (var k in keep) if (k.Scope == null && !k.IsDisposed) Attach(k);
    }

    private void FreeOwned()
    {
        // A tensor moved or detached since it was recorded no longer points at this scope: skip it.
        foreach (var t in owned)
            if (t.Scope == this)
            {
                t.Scope = null;
                t.Dispose();
            }
        owned.Clear();
    }

    public void Dispose()
    {
        if (disposed) return;
        FreeOwned();
        disposed = true;
        // Scopes normally close innermost first; if an outer one closes first, the inner ones go with it.
        if (current == this) current = Outer;
        else
        {
            for (var s = current; s != null; s = s.Outer)
                if (s.Outer == this) { current = Outer; break; }
        }
    }
}
