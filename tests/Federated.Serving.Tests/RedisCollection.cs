using Federated.Tests.Shared;

namespace Federated.Serving.Tests;

/// <summary>The Serving tests' real redis-server (<see cref="RedisServer"/>), one per collection.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
