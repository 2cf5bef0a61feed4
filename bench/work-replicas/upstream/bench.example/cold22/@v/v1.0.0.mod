module bench.example/cold22

go 1.21
