module bench.example/cold53

go 1.21
