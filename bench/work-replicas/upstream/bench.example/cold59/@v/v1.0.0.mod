module bench.example/cold59

go 1.21
