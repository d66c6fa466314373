# example/counter: the state machine and protocol rules (unit), the programs' flag checking
# (unit), a three-process cluster that loses its leader under load, and one that changes its
# membership with raft-cli under load (process).
pontoon_test(counter_state_machine_test
  SOURCES counter_state_machine_test.cc
  LIBS counter-service pontoon-test-support
  LABELS unit)
pontoon_test(counter_protocol_test
  SOURCES counter_protocol_test.cc
  LIBS counter-common
  LABELS unit)

add_test(NAME counter_bad_flags
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/counter_flags_test.sh
          $<TARGET_FILE:counter-server> $<TARGET_FILE:counter-client>)
set_tests_properties(counter_bad_flags PROPERTIES LABELS unit TIMEOUT 60)

add_test(NAME counter_process_test
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/counter_process_test.sh
          $<TARGET_FILE:counter-server> $<TARGET_FILE:counter-client>)
set_tests_properties(counter_process_test PROPERTIES LABELS process TIMEOUT 300)

# The load's stale-read check against servers that serve stale gets (a test hook): it must
# fail the load with exit 4 (process).
add_test(NAME counter_stale_check_test
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/counter_stale_check_test.sh
          $<TARGET_FILE:counter-server> $<TARGET_FILE:counter-client>)
set_tests_properties(counter_stale_check_test PROPERTIES LABELS process TIMEOUT 120)

# Grow a three-process cluster to five with --join and raft-cli add-peer, and shrink it back
# to three (the leader among the removed), under load (process).
add_test(NAME membership_process_test
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/membership_process_test.sh
          $<TARGET_FILE:counter-server> $<TARGET_FILE:counter-client> $<TARGET_FILE:raft-cli>)
set_tests_properties(membership_process_test PROPERTIES LABELS process TIMEOUT 300)

# A restart of the leader and another voter while the group is in joint consensus, and a
# learner that never votes when the voters lose their majority (process).
add_test(NAME membership_faults_process_test
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/membership_faults_process_test.sh
          $<TARGET_FILE:counter-server> $<TARGET_FILE:counter-client> $<TARGET_FILE:raft-cli>)
set_tests_properties(membership_faults_process_test PROPERTIES LABELS process TIMEOUT 300)

# example/atomic: the command format, the state machine, the command lines and the service's
# reads on simulated replicas (unit).
pontoon_test(atomic_state_machine_test
  SOURCES atomic_state_machine_test.cc
  LIBS atomic-service atomic-flags pontoon-test-support
  LABELS unit)

add_test(NAME atomic_bad_flags
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/atomic_flags_test.sh
          $<TARGET_FILE:atomic-server> $<TARGET_FILE:atomic-client>)
set_tests_properties(atomic_bad_flags PROPERTIES LABELS unit TIMEOUT 60)

pontoon_test(leader_client_test
  SOURCES leader_client_test.cc
  LIBS example-common
  LABELS unit)
