module bench.example/cold41

go 1.21
