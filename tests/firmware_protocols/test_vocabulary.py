"""The canonical vocabulary has one definition for daq and the simulator, and analysis's copy matches it."""

import analysis.joints
import daq.importers._common
import simulators.joints
from firmware_protocols import vocabulary


def test_analysis_keeps_the_same_joints_patterns_and_directions():
    assert dict(analysis.joints.JOINT_PATTERNS) == dict(vocabulary.JOINT_PATTERNS)
    assert dict(analysis.joints.PATTERN_DIRECTIONS) == dict(vocabulary.PATTERN_DIRECTIONS)
    assert set(analysis.joints.MODES) <= set(vocabulary.MODES)


def test_simulator_and_importers_use_the_shared_definition():
    assert simulators.joints.JOINT_PATTERNS is vocabulary.JOINT_PATTERNS
    assert simulators.joints.PATTERN_DIRECTIONS is vocabulary.PATTERN_DIRECTIONS
    assert daq.importers._common.JOINT_PATTERNS is vocabulary.JOINT_PATTERNS


def test_every_pattern_of_every_joint_has_its_two_directions():
    for patterns in vocabulary.JOINT_PATTERNS.values():
        for pattern in patterns:
            plus, minus = vocabulary.PATTERN_DIRECTIONS[pattern]
            assert plus != minus
