module bench.example/cold205

go 1.21
