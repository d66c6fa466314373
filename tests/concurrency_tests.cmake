# Concurrency primitives of raft-core: MpscRingBuffer, RingQueue, ExecutorPool, SimScheduler.
pontoon_test(ring_buffer_test SOURCES ring_buffer_test.cc LIBS raft-core LABELS unit)
pontoon_test(executor_pool_test SOURCES executor_pool_test.cc LIBS raft-core LABELS unit)
pontoon_test(sim_scheduler_test SOURCES sim_scheduler_test.cc LIBS raft-core LABELS unit)
