using RobustCli.Core.Models;
using RobustCli.Core.Data;
using RobustCli.Torch;

namespace RobustCli.Core.Training;

/// <summary>
/// GAT's auxiliary tasks (taskaugment's utils/imgtransformation_tasks.py and the CIFAR macro labels): the
/// transformation each applies to the batch itself — the main task is then trained and attacked on the rotated or
/// shuffled images too, as in the official code — and the labels it asks a head to predict.
/// </summary>
public static class GatTasks
{
    public const string Rotation = "rotation";
    public const string Jigsaw = "jigsaw";
    public const string Macro = "macro";

    /// <summary>The tasks in the order the official code builds their labels and losses (macro, jigsaw, rotation).</summary>
    public static readonly string[] All = [Macro, Jigsaw, Rotation];

    /// <summary>Jigsaw's grid: 16 tiles (4 x 4).</summary>
    public const int JigsawTiles = 16;

    /// <summary>The head a task adds: rotation 4 classes, jigsaw its permutation classes, macro the dataset's groups.</summary>
    public static TaskHead Head(string task, int jigsawClasses, MacroClasses? macro) => task switch
    {
        Rotation => new TaskHead(Rotation, Rotation, 4),
        Jigsaw => new TaskHead(Jigsaw, Jigsaw, jigsawClasses),
        Macro => new TaskHead(Macro, "class_object#macro", (macro ?? throw new ArgumentException("the macro task needs a dataset with macro classes")).Groups.Count),
        _ => throw new ArgumentException($"unknown GAT task '{task}'"),
    };

    /// <summary>
    /// Balanced rotation labels: a random permutation of [0, 1, 2, 3] repeated ⌈B/4⌉ + 1 times, cut to B (as the
    /// official rotation()).
    /// </summary>
    public static long[] BalancedRotations(int batch, Random rng)
    {
        var pool = Enumerable.Range(0, 4 * (batch / 4 + 1)).Select(i => (long)(i % 4)).ToArray();
        rng.Shuffle(pool);
        return pool[..batch];
    }

    /// <summary>Each image i turned by k_i · 90° as torch.rot90(img, k, [1, 2]) (counter-clockwise); square images only.</summary>
    public static Tensor Rotate(Tensor x, IReadOnlyList<long> k)
    {
        if (x.Size(2) != x.Size(3)) throw new ArgumentException($"rotation needs square images, got {x.Size(2)}x{x.Size(3)}");
        if (k.Count != x.Size(0)) throw new ArgumentException($"{k.Count} rotation labels for a batch of {x.Size(0)}");
        var result = x.Clone();
        for (var turn = 1; turn < 4; turn++)
        {
            var rows = Enumerable.Range(0, k.Count).Where(i => k[i] == turn).Select(i => (long)i).ToArray();
            if (rows.Length == 0) continue;
            using var index = torch.From(rows, [rows.Length]).To(x.Device);
            using var picked = x.IndexSelect(0, index);
            using var turned = picked.Rot90(turn, 2, 3);
            result.IndexPut_(index, turned);
        }
        return result;
    }

    /// <summary>
    /// The jigsaw task's fixed permutations: classes − 1 random orders of the 16 tiles, drawn once from the seed
    /// (class 0 is the identity). Fixed for a run, so a resumed run and its evaluation see the same ones.
    /// </summary>
    public static int[][] JigsawPermutations(int classes, int seed)
    {
        var rng = new Random(seed);
        var perms = new int[classes - 1][];
        for (var i = 0; i < perms.Length; i++)
        {
            perms[i] = Enumerable.Range(0, JigsawTiles).ToArray();
            rng.Shuffle(perms[i]);
        }
        return perms;
    }

    /// <summary>Jigsaw labels: uniform over the classes, then forced to 0 (identity) with probability <paramref name="identity"/>.</summary>
    public static long[] JigsawOrders(int batch, int classes, double identity, Random rng)
    {
        var orders = new long[batch];
        for (var i = 0; i < batch; i++)
        {
            long order = rng.Next(classes);
            if (rng.NextDouble() < identity) order = 0;
            orders[i] = order;
        }
        return orders;
    }

    /// <summary>
    /// Each image cut into a 4 x 4 grid of tiles (row-major) and reassembled so that tile j of the result is tile
    /// perm[j] of the input, perm being the image's permutation (order 0: unchanged).
    /// </summary>
    public static Tensor Shuffle(Tensor x, IReadOnlyList<long> orders, int[][] permutations)
    {
        long b = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        const int side = 4;
        if (h != w || h % side != 0) throw new ArgumentException($"jigsaw needs square images whose side is a multiple of {side}, got {h}x{w}");
        if (orders.Count != b) throw new ArgumentException($"{orders.Count} jigsaw labels for a batch of {b}");
        var n = h / side;
        var source = new long[b * JigsawTiles];
        for (var i = 0; i < b; i++)
            for (var j = 0; j < JigsawTiles; j++)
                source[i * JigsawTiles + j] = orders[i] == 0 ? j : permutations[orders[i] - 1][j];
        using var scope = DisposeScope.Open();
        // [B, C, 4, n, 4, n] → [B, 16, C, n, n]: tile (r, q) at index 4r + q.
        var tiles = x.Reshape(b, c, side, n, side, n).Permute(0, 2, 4, 1, 3, 5).Reshape(b, JigsawTiles, c * n * n);
        var index = torch.From(source, [b, JigsawTiles, 1]).To(x.Device).Expand(b, JigsawTiles, c * n * n);
        var moved = tiles.Gather(1, index);
        return moved.Reshape(b, side, side, c, n, n).Permute(0, 3, 1, 4, 2, 5).Reshape(b, c, h, w).Contiguous().MoveToOuterScope();
    }
}
