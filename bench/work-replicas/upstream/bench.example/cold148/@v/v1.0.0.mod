module bench.example/cold148

go 1.21
