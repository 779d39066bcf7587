using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Federated.Hosting;

/// <summary>
/// Reads this host's certificate files again every <see cref="TlsOptions.ReloadSeconds"/> and rotates to a new
/// certificate without a restart (<see cref="TlsIdentity.Reload"/>); warns while the certificate in use is within
/// <see cref="TlsOptions.ExpiryWarningDays"/> of its expiry, and publishes the expiry as a metric.
/// </summary>
public sealed class CertificateWatcher(TlsIdentity identity, IOptions<TlsOptions> options, TimeProvider time, ILogger<CertificateWatcher> logger)
    : BackgroundService
{
    private static readonly Gauge Expiry = Prometheus.Metrics.CreateGauge("federated_tls_certificate_expiry_timestamp_seconds",
        "When the certificate this host presents on new connections expires (Unix seconds).");

    private static readonly Counter Rotations = Prometheus.Metrics.CreateCounter("federated_tls_certificate_rotations_total",
        "Certificates this host took from its certificate files while running.");

    private DateTimeOffset _lastWarning = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        Observe(settings);
        if (settings.ReloadSeconds == 0)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.ReloadSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var result = identity.Reload();
                switch (result.Outcome)
                {
                    case CertificateReloadOutcome.Rotated:
                        Rotations.Inc();
                        logger.LogWarning("Certificate rotated: {PartyId} now presents {Fingerprint} (was {Previous}), valid until {NotAfter:O}; open connections keep the previous one",
                            identity.PartyId, result.Fingerprint, result.PreviousFingerprint, identity.Certificate.NotAfter.ToUniversalTime());
                        _lastWarning = DateTimeOffset.MinValue;
                        break;
                    case CertificateReloadOutcome.Refused:
                        logger.LogWarning("Certificate file not taken, still presenting {Fingerprint}: {Reason}", identity.Fingerprint, result.Reason);
                        break;
                }
                Observe(settings);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Observe(TlsOptions settings)
    {
        var notAfter = new DateTimeOffset(identity.Certificate.NotAfter.ToUniversalTime());
        Expiry.Set(notAfter.ToUnixTimeSeconds());
        var now = time.GetUtcNow();
        var left = notAfter - now;
        if (left > TimeSpan.FromDays(settings.ExpiryWarningDays) || now - _lastWarning < TimeSpan.FromHours(12))
            return;
        _lastWarning = now;
        logger.LogWarning("Certificate {Fingerprint} of {PartyId} expires at {NotAfter:O} (in {Days:F1} days); place a new one at {Path} (fedctl certs issue): the host takes it without a restart",
            identity.Fingerprint, identity.PartyId, notAfter, left.TotalDays, identity.CertificatePath);
    }
}
