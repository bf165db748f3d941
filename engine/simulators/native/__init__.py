"""`q2c demo --platforms`: the simulated platforms behind the real platforms' interfaces.

Commands go out through the outbound connectors to local emulators of the platforms; the
simulated platforms' events come in as each platform's native deliveries through the
gateway and the translator (`NativePlatforms`).
"""

from engine.simulators.native.choice import PlatformChoice
from engine.simulators.native.platforms import NativePlatforms
from engine.simulators.native.stats import PlatformStats

__all__ = ["NativePlatforms", "PlatformChoice", "PlatformStats"]
