using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using Xunit;

namespace Federated.Tests.Shared;

/// <summary>
/// A real redis-server (Debian's package; tests/run.sh installs it) on a free loopback port, with no persistence,
/// started for the tests of a collection (or a federation fixture) and stopped after them. Fails with the command to install it when missing.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _server;

    public int Port { get; private set; }
    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: apt-get install redis-server (tests/run.sh installs it)");
        Port = FreePort();
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes" })
            start.ArgumentList.Add(argument);
        _server = Process.Start(start)!;
        _server.OutputDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=5000,allowAdmin=true");
                if (Connection.IsConnected) break;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline) { }
            if (_server.HasExited) throw new InvalidOperationException($"redis-server exited with code {_server.ExitCode}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"redis-server did not accept connections on port {Port} within 20 s");
            await Task.Delay(100);
        }
    }

    public IServer Server => Connection.GetServer("127.0.0.1", Port);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null) await Connection.DisposeAsync();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }
        _server?.Dispose();
    }
}
